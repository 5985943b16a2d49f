using ActorSync.Transport;
using ActorSync.Transport.Records;
using Xunit;

namespace ActorSync.Tests.Transport;

public sealed class RecordLayerTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", "", StringComparison.Ordinal));

    // RFC 8448 §3 (Simple 1-RTT handshake), AES_128_GCM_SHA256: the application traffic keys and the
    // 50-byte application data record each side sends. An external known answer for header, nonce
    // construction (IV xor sequence), AAD and inner content type.
    private static readonly byte[] ClientKey = Hex("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51");
    private static readonly byte[] ClientIv = Hex("5b 78 92 3d ee 08 57 90 33 e5 23 d9");
    private static readonly byte[] ServerKey = Hex("9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56");
    private static readonly byte[] ServerIv = Hex("cf 78 2b 88 dd 83 54 9a ad f1 e9 84");
    private static readonly byte[] Payload = Enumerable.Range(0, 50).Select(i => (byte)i).ToArray();
    private static readonly byte[] ClientRecord = Hex(
        "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b" +
        "98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4");
    private static readonly byte[] ServerRecord = Hex(
        "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3" +
        "0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d");

    [Fact]
    public void Seal_matches_rfc8448_client_application_record()
    {
        using var sealer = new RecordSealer(new TrafficKeys(CipherSuite.Aes128Gcm, ClientKey, ClientIv, initialSequence: 0));
        var dest = new byte[TlsRecord.SealedLength(Payload.Length)];
        int n = sealer.Seal(Payload, dest);
        Assert.Equal(ClientRecord, dest[..n]);
        Assert.Equal(1UL, sealer.Sequence);
    }

    [Fact]
    public void Seal_matches_rfc8448_server_application_record_at_sequence_1()
    {
        // The server's first application record follows its NewSessionTicket (sequence 0).
        using var sealer = new RecordSealer(new TrafficKeys(CipherSuite.Aes128Gcm, ServerKey, ServerIv, initialSequence: 1));
        var dest = new byte[TlsRecord.SealedLength(Payload.Length)];
        int n = sealer.Seal(Payload, dest);
        Assert.Equal(ServerRecord, dest[..n]);
    }

    [Fact]
    public void Open_decrypts_rfc8448_record_in_place()
    {
        using var opener = new RecordOpener(new TrafficKeys(CipherSuite.Aes128Gcm, ClientKey, ClientIv));
        var record = (byte[])ClientRecord.Clone();
        Assert.Equal(record.Length, RecordOpener.RecordLength(record));
        var type = opener.Open(record, out int offset, out int length);
        Assert.Equal(ContentType.ApplicationData, type);
        Assert.Equal(Payload, record.AsSpan(offset, length).ToArray());
    }

    [Theory]
    [InlineData(CipherSuite.Aes128Gcm, 0)]
    [InlineData(CipherSuite.Aes128Gcm, 1)]
    [InlineData(CipherSuite.Aes128Gcm, 16384)]
    [InlineData(CipherSuite.Aes128Gcm, 16385)]
    [InlineData(CipherSuite.Aes256Gcm, 100_000)]
    public void Seal_splits_at_2_pow_14_and_roundtrips(CipherSuite suite, int size)
    {
        var keys = new TrafficKeys(suite, new byte[suite.KeyLength()], Hex("000102030405060708090a0b"), 7);
        var plain = new byte[size];
        new Random(size).NextBytes(plain);
        using var sealer = new RecordSealer(keys);
        var wire = new byte[TlsRecord.SealedLength(size)];
        Assert.Equal(wire.Length, sealer.Seal(plain, wire));

        using var opener = new RecordOpener(keys);
        var got = new List<byte>();
        int records = 0;
        for (int pos = 0; pos < wire.Length; records++)
        {
            int len = RecordOpener.RecordLength(wire.AsSpan(pos));
            Assert.True(len - TlsRecord.Overhead <= TlsRecord.MaxPlaintext);
            opener.Open(wire.AsSpan(pos, len), out int off, out int n);
            got.AddRange(wire.AsSpan(pos + off, n).ToArray());
            pos += len;
        }
        Assert.Equal(plain, got.ToArray());
        Assert.Equal(Math.Max(1, (size + 16383) / 16384), records);
        Assert.Equal(7UL + (ulong)records, opener.Sequence);
    }

    [Fact]
    public void Every_flipped_bit_of_a_record_is_detected()
    {
        var keys = new TrafficKeys(CipherSuite.Aes128Gcm, ClientKey, ClientIv);
        for (int bit = 0; bit < ClientRecord.Length * 8; bit++)
        {
            var record = (byte[])ClientRecord.Clone();
            record[bit / 8] ^= (byte)(1 << (bit % 8));
            using var opener = new RecordOpener(keys);
            // A header bit either makes the header invalid (protocol) or changes the AAD/length (integrity).
            Assert.ThrowsAny<ProtocolException>(() =>
            {
                int len = RecordOpener.RecordLength(record);
                if (len != record.Length) throw new ProtocolException("length changed");
                opener.Open(record, out _, out _);
            });
        }
    }

    [Fact]
    public void A_replayed_or_reordered_record_fails_because_the_sequence_is_in_the_nonce()
    {
        var keys = new TrafficKeys(CipherSuite.Aes128Gcm, ClientKey, ClientIv);
        using var opener = new RecordOpener(keys);
        var first = (byte[])ClientRecord.Clone();
        opener.Open(first, out _, out _);
        Assert.Throws<IntegrityException>(() => opener.Open((byte[])ClientRecord.Clone(), out _, out _));
    }

    [Fact]
    public void Kernel_key_fields_split_the_static_iv_as_ktls_expects()
    {
        var keys = new TrafficKeys(CipherSuite.Aes128Gcm, ClientKey, ClientIv);
        Assert.Equal(ClientIv[..4], keys.Salt.ToArray());
        Assert.Equal(ClientIv[4..], keys.ExplicitIv.ToArray());
    }
}
