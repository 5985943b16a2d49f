using ActorSync.Engine;
using Spectre.Console;

namespace ActorSync.Host.Cli;

/// <summary>--progress: a live bar on stderr (files, bytes, rate, ETA) fed by polling the transfer's counters.</summary>
internal static class ProgressDisplay
{
    /// <summary>Refresh period: smooth enough for a human, negligible cost for the transfer.</summary>
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(200);

    /// <summary>Without a terminal (a log file, CI) a plain line this often instead of a redrawn bar.</summary>
    private static readonly TimeSpan PlainEvery = TimeSpan.FromSeconds(2);

    public static async Task<T> RunAsync<T>(TransferStats stats, bool sending, Func<Task<T>> work)
    {
        if (Console.IsErrorRedirected) return await PlainAsync(stats, sending, work()).ConfigureAwait(false);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1);
                var running = work();
                while (!running.IsCompleted)
                {
                    Update(task, stats, sending);
                    await Task.WhenAny(running, Task.Delay(Refresh)).ConfigureAwait(false);
                }
                Update(task, stats, sending);
                result = await running.ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }

    private static async Task<T> PlainAsync<T>(TransferStats stats, bool sending, Task<T> running)
    {
        while (await Task.WhenAny(running, Task.Delay(PlainEvery)).ConfigureAwait(false) != running)
        {
            long done = sending ? stats.PayloadBytesSent : stats.BytesDone;
            long files = sending ? stats.FilesFound : stats.FilesDone;
            double seconds = Math.Max(stats.Elapsed.TotalSeconds, 0.001), rate = done / seconds;
            string eta = sending && stats.WalkComplete && rate > 0 ? $", ETA {TimeSpan.FromSeconds((stats.BytesFound - done) / rate):hh\\:mm\\:ss}" : "";
            Console.Error.WriteLine($"progress: {files} files, {done / 1048576.0:F1} MiB, {rate / 1048576.0:F1} MiB/s{eta}");
        }
        return await running.ConfigureAwait(false);
    }

    private static void Update(ProgressTask task, TransferStats stats, bool sending)
    {
        long total = Math.Max(1, stats.BytesFound);
        long done = sending ? stats.PayloadBytesSent : stats.BytesDone;
        task.MaxValue = total;
        task.Value = Math.Min(done, total);
        string files = sending ? $"{stats.FilesFound}{(stats.WalkComplete ? "" : "+")} files" : $"{stats.FilesDone} files";
        task.Description = Markup.Escape(files);
    }
}
