using Microsoft.Extensions.Logging;

namespace ActorSync.Tests.Support;

/// <summary>ACTORSYNC_TEST_LOG=FILE: the engine's logs of in-process transfers go to FILE (for chasing a flaky run).</summary>
public sealed class FileLoggerProvider(string path) : ILoggerProvider
{
    private readonly StreamWriter _out = new(path, append: true) { AutoFlush = true };
    private readonly Lock _gate = new();

    public static ILoggerFactory? FromEnvironment() =>
        Environment.GetEnvironmentVariable("ACTORSYNC_TEST_LOG") is { Length: > 0 } file
            ? LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FileLoggerProvider(file)))
            : null;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose() => _out.Dispose();

    private void Write(string line)
    {
        lock (_gate) _out.WriteLine(line);
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
    }
}
