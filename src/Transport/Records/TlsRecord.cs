using System.Buffers.Binary;

namespace ActorSync.Transport.Records;

/// <summary>TLS 1.3 record constants (RFC 8446 §5).</summary>
public static class TlsRecord
{
    public const int HeaderLength = 5;
    public const int TagLength = 16;
    /// <summary>2^14: the most plaintext one record may carry; kTLS splits at the same size.</summary>
    public const int MaxPlaintext = 16384;
    /// <summary>RFC 8446 allows 2^14 + 256 bytes of ciphertext (content type byte, padding, tag).</summary>
    public const int MaxCiphertext = MaxPlaintext + 256;
    /// <summary>Bytes a record adds to its plaintext: header, inner content type, tag.</summary>
    public const int Overhead = HeaderLength + 1 + TagLength;

    public const byte OuterType = 0x17;      // every protected TLS 1.3 record claims to be application data
    public const byte LegacyVersionMajor = 3, LegacyVersionMinor = 3;

    /// <summary>Ciphertext bytes for <paramref name="plaintextLength"/> bytes split into full records.</summary>
    public static long SealedLength(long plaintextLength)
    {
        long records = Math.Max(1, (plaintextLength + MaxPlaintext - 1) / MaxPlaintext);
        return plaintextLength + records * Overhead;
    }

    internal static void WriteHeader(Span<byte> dest, int ciphertextLength)
    {
        dest[0] = OuterType;
        dest[1] = LegacyVersionMajor;
        dest[2] = LegacyVersionMinor;
        BinaryPrimitives.WriteUInt16BigEndian(dest[3..], (ushort)ciphertextLength);
    }

    /// <summary>nonce = static IV xor the 64-bit sequence number, left-padded to 12 bytes.</summary>
    internal static void ComputeNonce(ReadOnlySpan<byte> iv, ulong sequence, Span<byte> nonce)
    {
        iv.CopyTo(nonce);
        ulong tail = BinaryPrimitives.ReadUInt64BigEndian(nonce[4..]) ^ sequence;
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], tail);
    }
}

/// <summary>Inner content types (RFC 8446 §5.1).</summary>
public enum ContentType : byte
{
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
}
