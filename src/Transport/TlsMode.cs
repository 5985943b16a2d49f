namespace ActorSync.Transport;

/// <summary>Who encrypts the records: the kernel (kTLS) where it can, or always userspace.</summary>
public enum TlsMode
{
    /// <summary>Kernel where TCP_ULP, TLS_TX and TLS_RX succeed, userspace otherwise.</summary>
    Auto,
    /// <summary>Kernel or nothing: a kernel without kTLS is a usage error (exit 2).</summary>
    Kernel,
    /// <summary>Always userspace AES-GCM.</summary>
    User,
}

public static class TlsModes
{
    public static bool TryParse(string text, out TlsMode mode)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "auto": mode = TlsMode.Auto; return true;
            case "kernel" or "ktls": mode = TlsMode.Kernel; return true;
            case "user" or "userspace": mode = TlsMode.User; return true;
            default: mode = default; return false;
        }
    }
}

/// <summary>--tls kernel on a kernel that cannot do it: exit status 2, with the reason.</summary>
public sealed class KernelTlsUnavailableException(string reason) : Exception($"kernel TLS unavailable: {reason}");

/// <summary>The kernel accepted the ULP but not a key: the connection was closed and must be redone in userspace.</summary>
public sealed class KernelTlsFallbackException(string reason) : IOException($"kernel TLS half-configured, connection dropped: {reason}");

/// <summary>A source file got shorter while its range was being sent; the frame was padded and must be aborted.</summary>
public sealed class SourceTruncatedException(long missing) : IOException($"source file ended {missing} bytes early (truncated while being sent)")
{
    public long Missing { get; } = missing;
}
