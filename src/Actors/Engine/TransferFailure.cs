using ActorSync.Transport;

namespace ActorSync.Engine;

/// <summary>Maps a failure to its exit status and a one-line message.</summary>
internal static class TransferFailure
{
    /// <summary>What one side tells the other when it is stopped by a signal (or cancelled by its host).</summary>
    public const string Interrupted = "it was interrupted; the same commands again finish the copy";

    public static int ExitCodeOf(Exception e) => e switch
    {
        AuthenticationException => ExitCodes.AuthenticationFailed,
        KernelTlsUnavailableException or IncompatiblePeerException => ExitCodes.Usage,
        ProtocolException => ExitCodes.ProtocolViolation,
        AggregateException { InnerExceptions.Count: > 0 } a => ExitCodeOf(a.InnerExceptions[0]),
        _ when e.InnerException is { } inner && e is not System.Net.Sockets.SocketException => ExitCodeOf(inner),
        _ => ExitCodes.TransferFailed,
    };

    public static string Describe(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: > 0 } a => Describe(a.InnerExceptions[0]),
        AuthenticationException => $"authentication failed: {e.Message}",
        IntegrityException => $"integrity violation: {e.Message}",
        ProtocolException => $"protocol violation: {e.Message}",
        System.Net.Sockets.SocketException s => $"network error: {s.Message}",
        _ when e.InnerException is { } inner && e.GetType() == typeof(Exception) => Describe(inner),
        _ => e.Message,
    };
}
