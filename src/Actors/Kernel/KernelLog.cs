using Microsoft.Extensions.Logging;

namespace ActorSync.Actors;

/// <summary>
/// Pre-compiled log messages: no boxing or template parsing on the failure paths. A failure is one line with
/// its message; the stack trace is attached only when Debug is on, since most failures here are expected ones
/// (a lost connection, a full disk) that a user needs to read, not debug.
/// </summary>
internal static class KernelLog
{
    private static readonly Action<ILogger, string, string, double, int, Exception?> RestartingMessage =
        LoggerMessage.Define<string, string, double, int>(LogLevel.Warning, new EventId(1, "ActorRestarting"),
            "Actor {Path} failed ({Error}); restarting in {BackoffMs} ms (restart #{RestartCount})");

    private static readonly Action<ILogger, string, string, Exception?> ResumedMessage =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(2, "ActorResumed"),
            "Actor {Path} failed ({Error}); resuming with the same instance");

    private static readonly Action<ILogger, string, string, string, Exception?> StoppingOnFailureMessage =
        LoggerMessage.Define<string, string, string>(LogLevel.Warning, new EventId(3, "ActorStoppingOnFailure"),
            "Actor {Path} failed ({Error}) and is stopping: {Why}");

    private static readonly Action<ILogger, string, string, Exception?> EscalatingMessage =
        LoggerMessage.Define<string, string>(LogLevel.Debug, new EventId(8, "ActorEscalating"),
            "Actor {Path} failed ({Error}); escalating to its parent");

    private static readonly Action<ILogger, string, Exception?> StoppedMessage =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(4, "ActorStopped"), "Actor {Path} stopped");

    private static readonly Action<ILogger, string, string, string, Exception?> HookFailedMessage =
        LoggerMessage.Define<string, string, string>(LogLevel.Warning, new EventId(5, "ActorHookFailed"),
            "Actor {Path}: {Hook} threw ({Error}); ignored");

    private static readonly Action<ILogger, string, string, Exception?> UnhandledFailureMessage =
        LoggerMessage.Define<string, string>(LogLevel.Error, new EventId(6, "ActorUnhandledFailure"),
            "Actor {Path} escalated a failure to the root ({Error})");

    private static readonly Action<ILogger, string, int, Exception?> ShutdownStragglersMessage =
        LoggerMessage.Define<string, int>(LogLevel.Warning, new EventId(7, "ActorSystemShutdownStragglers"),
            "Actor system {Name}: {Count} actor(s) did not drain in time; stopping them");

    public static void Restarting(ILogger log, string path, TimeSpan backoff, int restartCount, Exception error) =>
        RestartingMessage(log, path, error.Message, backoff.TotalMilliseconds, restartCount, TraceIfDebug(log, error));

    public static void Resumed(ILogger log, string path, Exception error) => ResumedMessage(log, path, error.Message, TraceIfDebug(log, error));

    public static void StoppingOnFailure(ILogger log, string path, string why, Exception error) =>
        StoppingOnFailureMessage(log, path, error.Message, why, TraceIfDebug(log, error));

    public static void Escalating(ILogger log, string path, Exception error) =>
        EscalatingMessage(log, path, error.Message, TraceIfDebug(log, error));

    public static void Stopped(ILogger log, string path) => StoppedMessage(log, path, null);

    public static void HookFailed(ILogger log, string path, string hook, Exception error) =>
        HookFailedMessage(log, path, hook, error.Message, TraceIfDebug(log, error));

    public static void UnhandledFailure(ILogger log, string path, Exception error) =>
        UnhandledFailureMessage(log, path, error.Message, TraceIfDebug(log, error));

    private static Exception? TraceIfDebug(ILogger log, Exception error) => log.IsEnabled(LogLevel.Debug) ? error : null;

    public static void ShutdownStragglers(ILogger log, string systemName, int count) =>
        ShutdownStragglersMessage(log, systemName, count, null);
}
