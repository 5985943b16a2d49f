using System.Text.Json;
using ActorSync.Engine;

namespace ActorSync.Host.Cli;

/// <summary>The end of every command: a human summary on stderr, or with --json one object on stdout.</summary>
internal static class SummaryPrinter
{
    /// <summary>The JSON object alone (the remote end of a copy over ssh: the local side reports).</summary>
    public static void PrintJson(TransferSummary s)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(s, SummaryJsonContext.Default.TransferSummary));
        Console.Out.Flush();
    }

    public static void Print(TransferSummary s, bool json)
    {
        if (json) PrintJson(s);
        var err = Console.Error;
        foreach (string p in s.Problems) err.WriteLine($"actorsync: problem: {p}");
        if (s.Error is not null) err.WriteLine($"actorsync: {s.Error}");
        if (json) return;
        if (s.ExitCode == ExitCodes.Success && s.Files == 0 && s.FilesSkipped > 0)
        {
            err.WriteLine($"actorsync {s.Role}: up to date ({s.FilesSkipped} files already there; {s.PayloadBytesSent} bytes of file data sent)");
            return;
        }
        if (!s.RanToEnd)
        {
            // Stopped by an error: the planned totals and a rate over them would be misleading.
            if (s.Streams > 0)
                err.WriteLine(s.Role == "send"
                    ? $"actorsync send: stopped after {s.ElapsedSeconds:F2} s; {s.PayloadBytesSent / 1048576.0:F1} MiB of file data sent over {s.Streams} streams"
                    : $"actorsync recv: stopped after {s.ElapsedSeconds:F2} s; {s.Files} files ({s.Bytes / 1048576.0:F1} MiB) written completely");
            return;
        }
        if (s.ExitCode is ExitCodes.Success or ExitCodes.TransferFailed && s.Streams > 0)
        {
            double mib = s.Bytes / 1048576.0;
            double rate = s.ElapsedSeconds > 0 ? mib / s.ElapsedSeconds : 0;
            err.WriteLine($"actorsync {s.Role}: {s.Files} files, {s.Dirs} dirs, {s.Symlinks} symlinks, {mib:F1} MiB in {s.ElapsedSeconds:F2} s " +
                          $"({rate:F1} MiB/s) over {s.Streams} streams, crypto {s.Crypto} {s.Cipher}" +
                          (s.SendfileBytes > 0 ? $", {s.SendfileBytes / 1048576.0:F1} MiB by sendfile" : "") +
                          (s.FilesSkipped > 0 ? $", {s.FilesSkipped} up to date" : "") +
                          (s.FilesFailed > 0 ? $", {s.FilesFailed} failed" : ""));
        }
    }
}
