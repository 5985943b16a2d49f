using Microsoft.Extensions.Logging;

namespace ActorSync.Actors;

/// <summary>Pre-compiled log messages: no boxing or template parsing on the failure paths.</summary>
internal static class KernelLog
{
    private static readonly Action<ILogger, string, double, int, Exception?> RestartingMessage =
        LoggerMessage.Define<string, double, int>(LogLevel.Warning, new EventId(1, "ActorRestarting"),
            "Actor {Path} failed; restarting in {BackoffMs} ms (restart #{RestartCount})");

    private static readonly Action<ILogger, string, Exception?> ResumedMessage =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(2, "ActorResumed"),
            "Actor {Path} failed; resuming with the same instance");

    private static readonly Action<ILogger, string, string, Exception?> StoppingOnFailureMessage =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(3, "ActorStoppingOnFailure"),
            "Actor {Path} failed and is stopping: {Why}");

    private static readonly Action<ILogger, string, Exception?> StoppedMessage =
        LoggerMessage.Define<string>(LogLevel.Information, new EventId(4, "ActorStopped"), "Actor {Path} stopped");

    private static readonly Action<ILogger, string, string, Exception?> HookFailedMessage =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(5, "ActorHookFailed"),
            "Actor {Path}: {Hook} threw; ignored");

    private static readonly Action<ILogger, string, Exception?> UnhandledFailureMessage =
        LoggerMessage.Define<string>(LogLevel.Error, new EventId(6, "ActorUnhandledFailure"),
            "Actor {Path} escalated a failure to the root");

    private static readonly Action<ILogger, string, int, Exception?> ShutdownStragglersMessage =
        LoggerMessage.Define<string, int>(LogLevel.Warning, new EventId(7, "ActorSystemShutdownStragglers"),
            "Actor system {Name}: {Count} actor(s) did not drain in time; stopping them");

    public static void Restarting(ILogger log, string path, TimeSpan backoff, int restartCount, Exception error) =>
        RestartingMessage(log, path, backoff.TotalMilliseconds, restartCount, error);

    public static void Resumed(ILogger log, string path, Exception error) => ResumedMessage(log, path, error);

    public static void StoppingOnFailure(ILogger log, string path, string why, Exception error) =>
        StoppingOnFailureMessage(log, path, why, error);

    public static void Stopped(ILogger log, string path) => StoppedMessage(log, path, null);

    public static void HookFailed(ILogger log, string path, string hook, Exception error) =>
        HookFailedMessage(log, path, hook, error);

    public static void UnhandledFailure(ILogger log, string path, Exception error) =>
        UnhandledFailureMessage(log, path, error);

    public static void ShutdownStragglers(ILogger log, string systemName, int count) =>
        ShutdownStragglersMessage(log, systemName, count, null);
}
