namespace ActorSync.Transport.Records;

/// <summary>
/// The key schedule of one direction of one connection, exposed as kernel TLS wants it: the AEAD key, the
/// 12-byte static IV (kTLS splits it into salt = IV[0..4] and iv = IV[4..12]) and the next record sequence
/// number. Userspace and kernel record layers built from the same value write identical bytes.
/// </summary>
public sealed class TrafficKeys
{
    public const int IvLength = 12;

    public TrafficKeys(CipherSuite suite, byte[] key, byte[] iv, ulong initialSequence = 0)
    {
        if (key.Length != suite.KeyLength()) throw new ArgumentException($"{suite.DisplayName()} needs a {suite.KeyLength()}-byte key", nameof(key));
        if (iv.Length != IvLength) throw new ArgumentException("TLS 1.3 static IV is 12 bytes", nameof(iv));
        Suite = suite;
        Key = key;
        Iv = iv;
        InitialSequence = initialSequence;
    }

    public CipherSuite Suite { get; }
    public byte[] Key { get; }
    public byte[] Iv { get; }
    public ulong InitialSequence { get; }

    /// <summary>kTLS crypto_info.salt: the first 4 bytes of the static IV.</summary>
    public ReadOnlySpan<byte> Salt => Iv.AsSpan(0, 4);

    /// <summary>kTLS crypto_info.iv: the last 8 bytes of the static IV.</summary>
    public ReadOnlySpan<byte> ExplicitIv => Iv.AsSpan(4, 8);
}
