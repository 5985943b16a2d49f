using System.Globalization;
using System.Text;
using ActorSync.Engine;
using Spectre.Console;

namespace ActorSync.Host.Cli;

/// <summary>
/// Watching a running transfer: --progress draws a bar on stderr (a plain line every few seconds without a terminal),
/// --json-progress writes one JSON event per second on stdout for scripts and dashboards. Both read the same
/// <see cref="ProgressMeter"/>, polled from the transfer's counters.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Refresh period: smooth enough for a human, negligible cost for the transfer.</summary>
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(200);

    /// <summary>Without a terminal (a log file, CI) a plain line this often instead of a redrawn bar.</summary>
    private static readonly TimeSpan PlainEvery = TimeSpan.FromSeconds(2);

    /// <summary>--json-progress: an event this often, and one at the end.</summary>
    private static readonly TimeSpan JsonEvery = TimeSpan.FromSeconds(1);

    public static async Task<T> RunAsync<T>(TransferStats stats, bool sending, bool bar, bool json, Func<Task<T>> work)
    {
        var meter = new ProgressMeter(stats, sending);
        var running = work();
        var jsonEvents = json ? JsonAsync(meter, running) : Task.CompletedTask;
        T result;
        if (!bar) result = await running.ConfigureAwait(false);
        else if (Console.IsErrorRedirected) result = await PlainAsync(meter, running).ConfigureAwait(false);
        else result = await BarAsync(meter, running).ConfigureAwait(false);
        await jsonEvents.ConfigureAwait(false);
        return result;
    }

    private static async Task<T> BarAsync<T>(ProgressMeter meter, Task<T> running)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1);
                while (!running.IsCompleted)
                {
                    Update(task, meter.Take());
                    await Task.WhenAny(running, Task.Delay(Refresh)).ConfigureAwait(false);
                }
                Update(task, meter.Take());
            }).ConfigureAwait(false);
        return await running.ConfigureAwait(false);
    }

    private static async Task<T> PlainAsync<T>(ProgressMeter meter, Task<T> running)
    {
        while (await Task.WhenAny(running, Task.Delay(PlainEvery)).ConfigureAwait(false) != running)
        {
            var p = meter.Take();
            Console.Error.WriteLine($"progress: {p.Files} files, {p.Bytes / 1048576.0:F1} MiB, {p.Rate / 1048576.0:F1} MiB/s, ETA {Eta(p)}");
        }
        return await running.ConfigureAwait(false);
    }

    private static async Task JsonAsync(ProgressMeter meter, Task running)
    {
        while (await Task.WhenAny(running, Task.Delay(JsonEvery)).ConfigureAwait(false) != running)
            WriteJson(meter.Take());
        WriteJson(meter.Take());
    }

    private static void Update(ProgressTask task, ProgressMeter.Snapshot p)
    {
        task.MaxValue = Math.Max(1, p.BytesTotal);
        task.Value = Math.Min(p.Bytes, task.MaxValue);
        task.Description = Markup.Escape($"{p.Files}{(p.TotalFinal ? "" : "+")} files, ETA {Eta(p)}");
    }

    /// <summary>hh:mm:ss, or --:--:-- while it cannot be told (the walk is still finding what there is to send).</summary>
    private static string Eta(ProgressMeter.Snapshot p) => p.Eta is { } eta ? $"{(int)eta.TotalHours:00}:{eta:mm\\:ss}" : "--:--:--";

    /// <summary>{"event":"progress","elapsed_s":..,"files_done":..,"files_total":..,"bytes_done":..,"bytes_total":..,
    /// "total_final":..,"rate_bytes_per_s":..,"eta_s":..|null,"stream_bytes":[..]}</summary>
    private static void WriteJson(ProgressMeter.Snapshot p)
    {
        var line = new StringBuilder(256);
        var c = CultureInfo.InvariantCulture;
        line.Append(c, $"{{\"event\":\"progress\",\"elapsed_s\":{p.Elapsed.TotalSeconds:F3},\"files_done\":{p.Files},\"files_total\":{p.FilesTotal},");
        line.Append(c, $"\"bytes_done\":{p.Bytes},\"bytes_total\":{p.BytesTotal},\"total_final\":{(p.TotalFinal ? "true" : "false")},");
        line.Append(c, $"\"rate_bytes_per_s\":{p.Rate:F0},\"eta_s\":{(p.Eta is { } eta ? eta.TotalSeconds.ToString("F1", c) : "null")},\"stream_bytes\":[");
        line.AppendJoin(',', p.StreamBytes);
        line.Append("]}");
        Console.Out.WriteLine(line.ToString());
        Console.Out.Flush();
    }
}

/// <summary>
/// What a running transfer has done, for display: files and bytes done of the totals known so far (the sender's grow
/// while its walk goes on), the rate over the last few seconds, and an ETA once the totals are final.
/// </summary>
internal sealed class ProgressMeter(TransferStats stats, bool sending)
{
    /// <summary>The rate is measured over this much recent time: steady enough to read, quick to follow a change.</summary>
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(5);

    private readonly Queue<(TimeSpan At, long Bytes)> _samples = new();

    public readonly record struct Snapshot(TimeSpan Elapsed, long Files, long FilesTotal, long Bytes, long BytesTotal, bool TotalFinal, double Rate, TimeSpan? Eta, long[] StreamBytes);

    private readonly Lock _gate = new();

    /// <summary>Called by the bar's loop and the JSON events' loop alike.</summary>
    public Snapshot Take()
    {
        lock (_gate) return TakeLocked();
    }

    private Snapshot TakeLocked()
    {
        var now = stats.Elapsed;
        // The sender's "done" counts what went over the wire and what was already there (up to date): both are
        // bytes of the total that need no more time. The receiver's is what it wrote.
        long bytes = sending ? stats.PayloadBytesSent + stats.BytesDone + stats.BytesResumed : stats.BytesDone;
        long files = stats.FilesDone;
        long total = Math.Max(stats.BytesFound, bytes);
        bool final = sending && stats.WalkComplete;
        _samples.Enqueue((now, bytes));
        while (_samples.Count > 2 && now - _samples.Peek().At > RateWindow) _samples.Dequeue();
        var (since, from) = _samples.Peek();
        double seconds = (now - since).TotalSeconds;
        double rate = seconds > 0.2 ? (bytes - from) / seconds : now.TotalSeconds > 0 ? bytes / now.TotalSeconds : 0;
        TimeSpan? eta = final && rate > 0 ? TimeSpan.FromSeconds(Math.Min((total - bytes) / rate, TimeSpan.FromDays(99).TotalSeconds)) : null;
        if (final && bytes >= total) eta = TimeSpan.Zero;
        return new Snapshot(now, files, sending ? stats.FilesFound : files, bytes, total, final, rate, eta, stats.StreamWireBytes());
    }
}
