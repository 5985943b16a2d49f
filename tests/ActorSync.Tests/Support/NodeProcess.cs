using System.Diagnostics;

namespace ActorSync.Tests.Support;

/// <summary>An `actorsync node` (or any long-running CLI) as a child process whose log lines a test can wait for.</summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];
    private readonly Task _reader;

    public NodeProcess(string name, IEnumerable<string> args)
    {
        Name = name;
        _process = Cli.Start(args);
        _reader = Task.Run(ReadAsync);
        _ = _process.StandardOutput.ReadToEndAsync();
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public string Log { get { lock (_lines) return string.Join('\n', _lines); } }

    /// <summary>The first log line (past or future) that contains every one of <paramref name="fragments"/>.</summary>
    public Task<string> WaitForLineAsync(TimeSpan timeout, params string[] fragments) =>
        WaitForLineAsync(timeout, line => fragments.All(f => line.Contains(f, StringComparison.Ordinal)), $"\"{string.Join("\", \"", fragments)}\"");

    /// <summary>The first log line (past or future) that <paramref name="match"/> accepts.</summary>
    public Task<string> WaitForLineAsync(TimeSpan timeout, Func<string, bool> match, string what)
    {
        bool Match(string line) => match(line);
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.FirstOrDefault(Match) is { } line) return Task.FromResult(line);
            _waiters.Add((Match, seen));
        }
        return seen.Task.WaitAsync(timeout).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result
            : throw new TimeoutException($"{Name} logged no line with {what} within {timeout}:\n{Log}"),
            TaskScheduler.Default);
    }

    public void Signal(int signal)
    {
        if (Tmds.Linux.LibC.kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"{Name} did not exit within {timeout}:\n{Log}"); }
        await _reader;
        return _process.ExitCode;
    }

    public void Kill() { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_lines)
            {
                _lines.Add(line);
                for (int i = _waiters.Count - 1; i >= 0; i--)
                    if (_waiters[i].Match(line)) { _waiters[i].Seen.TrySetResult(line); _waiters.RemoveAt(i); }
            }
        }
    }
}
