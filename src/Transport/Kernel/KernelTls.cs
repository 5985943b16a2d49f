using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ActorSync.Transport.Interop;
using ActorSync.Transport.Records;

namespace ActorSync.Transport.Kernel;

/// <summary>
/// Hands a connection's TLS 1.3 keys to the kernel. The struct is tls12_crypto_info_aes_gcm_{128,256}:
/// version and cipher as host-order u16, iv = IV[4..12], key, salt = IV[0..4], rec_seq big-endian: the same
/// key schedule the userspace record layer uses, so both write identical bytes.
/// </summary>
internal static class KernelTls
{
    private const ushort Tls13Version = 0x0304;
    private const ushort CipherAesGcm128 = 51, CipherAesGcm256 = 52;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<CipherSuite, string?> Probed = [];
    private static volatile string? _disabledReason;

    public enum Outcome { Installed, Unavailable, Failed }

    /// <summary>Why kernel TLS cannot be used for <paramref name="suite"/> here (null: it can). Probed once per
    /// process on a loopback pair, so a real connection rarely discovers it half-way.</summary>
    public static string? Unavailability(CipherSuite suite)
    {
        if (_disabledReason is { } disabled) return disabled;
        lock (Gate)
        {
            if (!Probed.TryGetValue(suite, out string? reason))
            {
                reason = Probe(suite);
                Probed[suite] = reason;
            }
            return reason;
        }
    }

    /// <summary>After a failure on a real connection, later connections of this process use userspace.</summary>
    public static void Disable(string reason) => _disabledReason = reason;

    private static string? Probe(CipherSuite suite)
    {
        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            using var server = listener.Accept();
            var keys = new TrafficKeys(suite, new byte[suite.KeyLength()], new byte[TrafficKeys.IvLength]);
            var (outcome, reason) = Install((int)client.Handle, keys, keys);
            return outcome == Outcome.Installed ? null : reason;
        }
        catch (SocketException e)
        {
            return $"cannot open a loopback socket to probe: {e.Message}";
        }
    }

    /// <summary>
    /// TCP_ULP "tls", then TLS_TX and TLS_RX. Unavailable: nothing was attached, the socket is as it was.
    /// Failed: the ULP is attached but a direction is not keyed; the socket must not be used any more.
    /// </summary>
    public static (Outcome Outcome, string Reason) Install(int fd, TrafficKeys send, TrafficKeys receive)
    {
        int e = Libc.AttachTlsUpperLayer(fd);
        if (e != 0)
            return (Outcome.Unavailable, e == Libc.ENOENT ? "no tls module in this kernel (setsockopt TCP_ULP \"tls\": ENOENT)" : $"setsockopt(TCP_ULP, \"tls\"): {Errno(e)}");
        e = Libc.InstallTlsCryptoInfo(fd, transmit: true, CryptoInfo(send));
        if (e != 0) return (Outcome.Failed, $"setsockopt(TLS_TX, {send.Suite.DisplayName()}): {Errno(e)}{CipherHint(e)}");
        e = Libc.InstallTlsCryptoInfo(fd, transmit: false, CryptoInfo(receive));
        if (e != 0) return (Outcome.Failed, $"setsockopt(TLS_RX, {receive.Suite.DisplayName()}): {Errno(e)}{CipherHint(e)}");
        Libc.ExpectNoPadding(fd);   // an optimisation only; older kernels lack it
        return (Outcome.Installed, "");
    }

    private static string CipherHint(int errno) => errno is Libc.EINVAL or Libc.ENOSYS or Libc.EOPNOTSUPP ? " (cipher unsupported by this kernel's TLS)" : "";

    private static string Errno(int e) => $"{Libc.Describe(e)} (errno {e})";

    internal static byte[] CryptoInfo(TrafficKeys keys)
    {
        int keyLength = keys.Key.Length;
        var info = new byte[4 + 8 + keyLength + 4 + 8];
        BinaryPrimitives.WriteUInt16LittleEndian(info, Tls13Version);
        BinaryPrimitives.WriteUInt16LittleEndian(info.AsSpan(2), keys.Suite == CipherSuite.Aes256Gcm ? CipherAesGcm256 : CipherAesGcm128);
        keys.ExplicitIv.CopyTo(info.AsSpan(4));
        keys.Key.CopyTo(info, 12);
        keys.Salt.CopyTo(info.AsSpan(12 + keyLength));
        BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(16 + keyLength), keys.InitialSequence);
        return info;
    }
}
