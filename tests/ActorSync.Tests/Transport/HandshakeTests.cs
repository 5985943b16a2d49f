using System.Net;
using System.Net.Sockets;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;
using Xunit;

namespace ActorSync.Tests.Transport;

public sealed class HandshakeTests
{
    private static async Task<(Socket Client, Socket Server)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await accept);
    }

    private static readonly SharedSecret Secret = SharedSecret.FromText("0123456789abcdef0123456789abcdef", "test");

    [Theory]
    [InlineData(CipherSuite.Aes128Gcm)]
    [InlineData(CipherSuite.Aes256Gcm)]
    public async Task Same_secret_yields_mirrored_keys_and_a_working_channel(CipherSuite suite)
    {
        var (c, s) = await PairAsync();
        var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
        var clientKeys = await HandshakeProtocol.ClientAsync(c, Secret, suite, CancellationToken.None);
        var serverKeys = await server;
        Assert.Equal(clientKeys.Send.Key, serverKeys.Receive.Key);
        Assert.Equal(clientKeys.Send.Iv, serverKeys.Receive.Iv);
        Assert.Equal(clientKeys.Receive.Key, serverKeys.Send.Key);
        Assert.NotEqual(clientKeys.Send.Key, clientKeys.Receive.Key);
        Assert.Equal(suite.KeyLength(), clientKeys.Send.Key.Length);

        await using ISecureChannel a = new UserTlsChannel(c, clientKeys), b = new UserTlsChannel(s, serverKeys);
        var message = new byte[100_000];
        new Random(1).NextBytes(message);
        await a.SendAsync(message);
        await a.CloseAsync();
        var got = new List<byte>();
        for (var seg = await b.ReceiveAsync(); !seg.IsEmpty; seg = await b.ReceiveAsync()) got.AddRange(seg.ToArray());
        Assert.Equal(message, got.ToArray());
    }

    [Fact]
    public async Task Fresh_nonces_make_every_connection_use_different_keys()
    {
        var keys = new List<byte[]>();
        for (int i = 0; i < 2; i++)
        {
            var (c, s) = await PairAsync();
            using (c) using (s)
            {
                var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
                keys.Add((await HandshakeProtocol.ClientAsync(c, Secret, CipherSuite.Aes128Gcm, CancellationToken.None)).Send.Key);
                await server;
            }
        }
        Assert.NotEqual(keys[0], keys[1]);
    }

    [Fact]
    public async Task Wrong_secret_fails_authentication_on_both_sides()
    {
        var (c, s) = await PairAsync();
        using (c) using (s)
        {
            var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
            var other = SharedSecret.FromText("not-the-same-secret-at-all-000000", "test");
            var ce = await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeProtocol.ClientAsync(c, other, CipherSuite.Aes128Gcm, CancellationToken.None));
            Assert.Contains("rejected", ce.Message);
            await Assert.ThrowsAsync<AuthenticationException>(() => server);
        }
    }

    [Fact]
    public async Task The_secret_never_crosses_the_wire()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        await using var relay = new Support.TcpRelay((IPEndPoint)listener.LocalEndPoint!);
        var serverSide = Task.Run(async () => await SecureConnection.AcceptAsync(await listener.AcceptAsync(), Secret, TimeSpan.FromSeconds(10), CancellationToken.None));
        await using var client = await SecureConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, relay.Port), Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(10), CancellationToken.None);
        await using var server = await serverSide;
        await client.SendAsync(Secret.Material);   // even sent as data, only ciphertext is seen
        await client.CloseAsync();
        var got = new List<byte>();
        for (var seg = await server.ReceiveAsync(); !seg.IsEmpty; seg = await server.ReceiveAsync()) got.AddRange(seg.ToArray());
        Assert.Equal(Secret.Material, got.ToArray());
        byte[] wire = relay.ClientBytes;
        Assert.True(wire.Length > HandshakeProtocol.HelloLength);
        Assert.Equal(-1, wire.AsSpan().IndexOf(Secret.Material));
    }

    [Fact]
    public async Task Garbage_instead_of_a_hello_is_refused_as_not_a_peer_not_as_an_authentication_failure()
    {
        var (c, s) = await PairAsync();
        using (c) using (s)
        {
            var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
            await c.SendAsync(new byte[HandshakeProtocol.HelloLength].Select((_, i) => (byte)('G' + i % 3)).ToArray());
            var e = await Assert.ThrowsAsync<NotAPeerException>(() => server);
            Assert.Contains("bad hello", e.Message);
        }
    }

    [Fact]
    public async Task A_hello_cut_short_is_not_a_peer_and_a_connection_closed_after_the_hello_is_a_lost_connection()
    {
        var (c, s) = await PairAsync();
        using (s)
        {
            var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
            await c.SendAsync("ASYN"u8.ToArray());
            c.Dispose();
            await Assert.ThrowsAsync<NotAPeerException>(() => server);
        }
        // A whole hello, then silence and close: a client that went away mid-handshake, not a wrong secret.
        (c, s) = await PairAsync();
        using (s)
        {
            var server = HandshakeProtocol.ServerAsync(s, Secret, _ => true, CancellationToken.None);
            var hello = new byte[HandshakeProtocol.HelloLength];
            "ASYN"u8.CopyTo(hello);
            hello[4] = HandshakeProtocol.Version;
            hello[6] = 0x13;
            hello[7] = 0x01;
            await c.SendAsync(hello);
            c.Shutdown(SocketShutdown.Send);
            await Assert.ThrowsAsync<ConnectionLostException>(() => server);
            c.Dispose();
        }
    }

    [Fact]
    public async Task A_receiver_that_takes_one_cipher_refuses_the_other_and_says_which_it_takes()
    {
        var (c, s) = await PairAsync();
        using (c) using (s)
        {
            var server = HandshakeProtocol.ServerAsync(s, Secret, suite => suite == CipherSuite.Aes256Gcm, CancellationToken.None);
            var client = HandshakeProtocol.ClientAsync(c, Secret, CipherSuite.Aes128Gcm, CancellationToken.None);
            var refused = await Assert.ThrowsAsync<IncompatiblePeerException>(() => client);
            Assert.Contains("takes AES-256-GCM only", refused.Message);
            await Assert.ThrowsAsync<IncompatiblePeerException>(() => server);
        }
    }
}
