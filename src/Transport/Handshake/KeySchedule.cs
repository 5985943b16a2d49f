using System.Security.Cryptography;
using System.Text;
using ActorSync.Transport.Records;

namespace ActorSync.Transport.Handshake;

/// <summary>
/// HKDF-SHA256 over the shared secret, salted with the hash of both hellos (so both fresh nonces, the version
/// and the cipher choice are bound in). One extract, then an expand per purpose with a distinct label.
/// </summary>
internal sealed class KeySchedule
{
    private readonly byte[] _prk;
    private readonly byte[] _transcriptHash;

    public KeySchedule(SharedSecret secret, ReadOnlySpan<byte> clientHello, ReadOnlySpan<byte> serverHello)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(clientHello);
        hash.AppendData(serverHello);
        _transcriptHash = hash.GetHashAndReset();
        _prk = HKDF.Extract(HashAlgorithmName.SHA256, secret.Material, _transcriptHash);
    }

    public byte[] ClientProof() => Mac("actorsync v1 client finished", _transcriptHash);

    /// <summary>The server's proof also covers the client's, so it cannot be replayed to another client.</summary>
    public byte[] ServerProof(ReadOnlySpan<byte> clientProof)
    {
        Span<byte> input = stackalloc byte[_transcriptHash.Length + clientProof.Length];
        _transcriptHash.CopyTo(input);
        clientProof.CopyTo(input[_transcriptHash.Length..]);
        return Mac("actorsync v1 server finished", input);
    }

    public TrafficKeys ClientToServer(CipherSuite suite) => Traffic(suite, "c2s");

    public TrafficKeys ServerToClient(CipherSuite suite) => Traffic(suite, "s2c");

    private TrafficKeys Traffic(CipherSuite suite, string direction) =>
        new(suite, Expand($"actorsync v1 {direction} key", suite.KeyLength()), Expand($"actorsync v1 {direction} iv", TrafficKeys.IvLength));

    private byte[] Mac(string label, ReadOnlySpan<byte> data) => HMACSHA256.HashData(Expand(label, 32), data);

    private byte[] Expand(string label, int length) =>
        HKDF.Expand(HashAlgorithmName.SHA256, _prk, length, Encoding.ASCII.GetBytes(label));
}
