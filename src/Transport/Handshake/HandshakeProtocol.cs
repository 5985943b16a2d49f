using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using ActorSync.Transport.Records;

namespace ActorSync.Transport.Handshake;

/// <summary>Keys of an authenticated connection, one set per direction.</summary>
public sealed record HandshakeResult(TrafficKeys Send, TrafficKeys Receive);

/// <summary>
/// Mutual challenge-response before any record is exchanged. Every message has a fixed size, so neither side
/// ever reads past the handshake: bytes after it belong to the record layer (which may be the kernel's).
/// <code>
/// C->S ClientHello    "ASYN" version u8, 0, cipher u16, client nonce[32]           (40 bytes)
/// S->C ServerHello    "ASYN" version u8, status u8, cipher u16, server nonce[32]   (40 bytes)
/// C->S ClientFinished HMAC(K_client, H(hellos))                                    (32 bytes)
/// S->C ServerFinished status u8, HMAC(K_server, H(hellos) || client proof)         (33 bytes)
/// </code>
/// The server speaks second and checks the client's proof before proving itself, so an unauthenticated
/// caller learns nothing about the secret but a random nonce.
/// </summary>
public static class HandshakeProtocol
{
    public const byte Version = 1;
    public const int NonceLength = 32;
    public const int HelloLength = 8 + NonceLength;
    public const int ProofLength = 32;
    private static ReadOnlySpan<byte> Magic => "ASYN"u8;

    private const byte StatusOk = 0, StatusBadVersion = 1, StatusBadCipher = 2, StatusAuthFailed = 3;

    public static async Task<HandshakeResult> ClientAsync(Socket socket, SharedSecret secret, CipherSuite suite, CancellationToken ct)
    {
        byte[] clientHello = new byte[HelloLength];
        WriteHello(clientHello, StatusOk, suite);
        await SendAllAsync(socket, clientHello, ct).ConfigureAwait(false);

        byte[] serverHello = new byte[HelloLength];
        await ReceiveExactlyAsync(socket, serverHello, "server hello", ct).ConfigureAwait(false);
        if (!serverHello.AsSpan(0, 4).SequenceEqual(Magic))
            ThrowHelper.ThrowProtocol("the peer is not an actorsync receiver (bad hello)");
        switch (serverHello[5])
        {
            case StatusOk: break;
            case StatusBadVersion: throw new IncompatiblePeerException($"the receiver speaks protocol version {serverHello[4]}, we speak {Version}");
            case StatusBadCipher:
                ushort wanted = BinaryPrimitives.ReadUInt16BigEndian(serverHello.AsSpan(6));
                throw new IncompatiblePeerException(CipherSuites.IsDefined(wanted)
                    ? $"the receiver does not accept cipher {suite.DisplayName()}; it takes {((CipherSuite)wanted).DisplayName()} only (use --cipher {((CipherSuite)wanted).CliName()})"
                    : $"the receiver does not accept cipher {suite.DisplayName()}");
            default: ThrowHelper.ThrowProtocol($"the receiver refused the hello (status {serverHello[5]})"); break;
        }

        var schedule = new KeySchedule(secret, clientHello, serverHello);
        byte[] clientProof = schedule.ClientProof();
        await SendAllAsync(socket, clientProof, ct).ConfigureAwait(false);

        byte[] serverFinished = new byte[1 + ProofLength];
        await ReceiveExactlyAsync(socket, serverFinished, "server finished", ct).ConfigureAwait(false);
        if (serverFinished[0] == StatusAuthFailed)
            ThrowHelper.ThrowAuthentication("the receiver rejected our proof: the secrets differ");
        if (serverFinished[0] != StatusOk ||
            !CryptographicOperations.FixedTimeEquals(serverFinished.AsSpan(1), schedule.ServerProof(clientProof)))
            ThrowHelper.ThrowAuthentication("the receiver could not prove it knows the secret");
        return new HandshakeResult(schedule.ClientToServer(suite), schedule.ServerToClient(suite));
    }

    /// <summary>The listening side. <paramref name="accept"/> says which ciphers it allows.</summary>
    public static async Task<HandshakeResult> ServerAsync(Socket socket, SharedSecret secret, Func<CipherSuite, bool> accept, CancellationToken ct)
    {
        byte[] clientHello = new byte[HelloLength];
        // Until a whole hello with our magic is in, the caller may be anything (a port scan, a health check):
        // that is not an authentication failure, just not a peer.
        try { await ReceiveExactlyAsync(socket, clientHello, "client hello", ct).ConfigureAwait(false); }
        catch (ConnectionLostException e) { throw new NotAPeerException($"not an actorsync client: {e.Message}"); }
        if (!clientHello.AsSpan(0, 4).SequenceEqual(Magic))
            throw new NotAPeerException("not an actorsync client (bad hello)");
        ushort requested = BinaryPrimitives.ReadUInt16BigEndian(clientHello.AsSpan(6));
        byte status = clientHello[4] != Version ? StatusBadVersion
            : !CipherSuites.IsDefined(requested) || !accept((CipherSuite)requested) ? StatusBadCipher
            : StatusOk;
        var suite = (CipherSuite)requested;

        byte[] serverHello = new byte[HelloLength];
        // Refusing a cipher, the hello names the one this receiver takes, so the sender can say which.
        WriteHello(serverHello, status, status == StatusOk ? suite : Enum.GetValues<CipherSuite>().FirstOrDefault(accept, CipherSuite.Aes128Gcm));
        await SendAllAsync(socket, serverHello, ct).ConfigureAwait(false);
        if (status != StatusOk)
            throw new IncompatiblePeerException(status == StatusBadVersion
                ? $"the client speaks protocol version {clientHello[4]}, we speak {Version}"
                : $"the client asked for cipher {(CipherSuites.IsDefined(requested) ? ((CipherSuite)requested).DisplayName() : $"0x{requested:x4}")}, which this receiver does not accept");

        var schedule = new KeySchedule(secret, clientHello, serverHello);
        byte[] clientProof = new byte[ProofLength];
        await ReceiveExactlyAsync(socket, clientProof, "client finished", ct).ConfigureAwait(false);
        byte[] serverFinished = new byte[1 + ProofLength];
        if (!CryptographicOperations.FixedTimeEquals(clientProof, schedule.ClientProof()))
        {
            serverFinished[0] = StatusAuthFailed;
            await SendAllAsync(socket, serverFinished, ct).ConfigureAwait(false);
            ThrowHelper.ThrowAuthentication("the client could not prove it knows the secret");
        }
        serverFinished[0] = StatusOk;
        schedule.ServerProof(clientProof).CopyTo(serverFinished, 1);
        await SendAllAsync(socket, serverFinished, ct).ConfigureAwait(false);
        return new HandshakeResult(schedule.ServerToClient(suite), schedule.ClientToServer(suite));
    }

    private static void WriteHello(Span<byte> hello, byte status, CipherSuite suite)
    {
        Magic.CopyTo(hello);
        hello[4] = Version;
        hello[5] = status;
        BinaryPrimitives.WriteUInt16BigEndian(hello[6..], (ushort)suite);
        RandomNumberGenerator.Fill(hello[8..]);
    }

    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[n..];
        }
    }

    private static async ValueTask ReceiveExactlyAsync(Socket socket, Memory<byte> dest, string what, CancellationToken ct)
    {
        while (!dest.IsEmpty)
        {
            int n = await socket.ReceiveAsync(dest, SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) ThrowHelper.ThrowConnectionLost($"connection closed during the handshake (waiting for the {what})");
            dest = dest[n..];
        }
    }
}
