using System.Security.Cryptography;

namespace ActorSync.Transport.Records;

/// <summary>Userspace TLS 1.3 record protection for one direction: plaintext in, records out.</summary>
internal sealed class RecordSealer : IDisposable
{
    private readonly AesGcm _aead;
    private readonly byte[] _iv;
    private ulong _sequence;

    public RecordSealer(TrafficKeys keys)
    {
        _aead = new AesGcm(keys.Key, TlsRecord.TagLength);
        _iv = keys.Iv;
        _sequence = keys.InitialSequence;
    }

    /// <summary>Sequence number of the next record (what kTLS would need as rec_seq).</summary>
    public ulong Sequence => _sequence;

    /// <summary>
    /// Writes <paramref name="plaintext"/> as records of at most 2^14 plaintext bytes into <paramref name="dest"/>
    /// (which must hold <see cref="TlsRecord.SealedLength"/> bytes) and returns the bytes written.
    /// The plaintext is copied next to its header and encrypted in place, so one pass touches each byte.
    /// </summary>
    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> dest, ContentType type = ContentType.ApplicationData)
    {
        int written = 0;
        Span<byte> nonce = stackalloc byte[TrafficKeys.IvLength];
        do
        {
            int n = Math.Min(plaintext.Length, TlsRecord.MaxPlaintext);
            Span<byte> record = dest.Slice(written, n + TlsRecord.Overhead);
            TlsRecord.WriteHeader(record, n + 1 + TlsRecord.TagLength);
            Span<byte> inner = record.Slice(TlsRecord.HeaderLength, n + 1);
            plaintext[..n].CopyTo(inner);
            inner[n] = (byte)type;
            TlsRecord.ComputeNonce(_iv, _sequence++, nonce);
            _aead.Encrypt(nonce, inner, inner, record.Slice(TlsRecord.HeaderLength + n + 1, TlsRecord.TagLength), record[..TlsRecord.HeaderLength]);
            written += record.Length;
            plaintext = plaintext[n..];
        }
        while (!plaintext.IsEmpty);
        return written;
    }

    public void Dispose() => _aead.Dispose();
}
