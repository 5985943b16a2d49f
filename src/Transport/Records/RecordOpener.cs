using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ActorSync.Transport.Records;

/// <summary>Userspace TLS 1.3 record removal for one direction: one record in, plaintext out (in place).</summary>
internal sealed class RecordOpener : IDisposable
{
    private readonly AesGcm _aead;
    private readonly byte[] _iv;
    private ulong _sequence;

    public RecordOpener(TrafficKeys keys)
    {
        _aead = new AesGcm(keys.Key, TlsRecord.TagLength);
        _iv = keys.Iv;
        _sequence = keys.InitialSequence;
    }

    public ulong Sequence => _sequence;

    /// <summary>
    /// Reads the record header at the start of <paramref name="buffer"/>: the whole record's length, or 0 when
    /// more bytes are needed. Throws <see cref="ProtocolException"/> on a header no TLS 1.3 peer would send.
    /// </summary>
    public static int RecordLength(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < TlsRecord.HeaderLength) return 0;
        if (buffer[0] != TlsRecord.OuterType || buffer[1] != TlsRecord.LegacyVersionMajor || buffer[2] != TlsRecord.LegacyVersionMinor)
            ThrowHelper.ThrowProtocol($"not a TLS 1.3 record (header {Convert.ToHexString(buffer[..TlsRecord.HeaderLength])})");
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[3..]);
        if (length < 1 + TlsRecord.TagLength || length > TlsRecord.MaxCiphertext)
            ThrowHelper.ThrowProtocol($"record length {length} out of range");
        return TlsRecord.HeaderLength + length;
    }

    /// <summary>
    /// Decrypts one whole record in place. Returns the content type and the plaintext's range in
    /// <paramref name="record"/>. A failed tag means tampering or corruption: <see cref="IntegrityException"/>.
    /// </summary>
    public ContentType Open(Span<byte> record, out int plaintextOffset, out int plaintextLength)
    {
        Span<byte> nonce = stackalloc byte[TrafficKeys.IvLength];
        int cipherLength = record.Length - TlsRecord.HeaderLength - TlsRecord.TagLength;
        Span<byte> inner = record.Slice(TlsRecord.HeaderLength, cipherLength);
        TlsRecord.ComputeNonce(_iv, _sequence, nonce);
        try
        {
            _aead.Decrypt(nonce, inner, record.Slice(TlsRecord.HeaderLength + cipherLength, TlsRecord.TagLength), inner, record[..TlsRecord.HeaderLength]);
        }
        catch (AuthenticationTagMismatchException)
        {
            ThrowHelper.ThrowIntegrity($"record {_sequence} failed authentication (tampered or corrupted in transit)");
        }
        _sequence++;
        // Strip TLS 1.3 zero padding; the last non-zero byte is the real content type.
        int end = inner.LastIndexOfAnyExcept((byte)0);
        if (end < 0) ThrowHelper.ThrowProtocol("record has no content type");
        plaintextOffset = TlsRecord.HeaderLength;
        plaintextLength = end;
        return (ContentType)inner[end];
    }

    public void Dispose() => _aead.Dispose();
}
