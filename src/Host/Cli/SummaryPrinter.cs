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

    /// <summary>Entries reported by name as they happen: "deleting PATH" (as rsync says it), or with --json one object
    /// per line, {"event":"item","action":...,"path":...}, before the summary's. -q prints none in human form.</summary>
    public static Action<TransferItem> ItemWriter(bool json, bool quiet) => item =>
    {
        if (json)
        {
            Console.Out.WriteLine($"{{\"event\":\"item\",\"action\":\"{ActionOf(item.Kind)}\",\"path\":{JsonSerializer.Serialize(item.Path, SummaryJsonContext.Default.String)}" +
                                  (item.Size > 0 ? $",\"size\":{item.Size}}}" : "}"));
            return;
        }
        if (quiet) return;
        Console.Out.WriteLine($"{item.Kind switch
        {
            TransferItemKind.Deleted => "deleting",
            TransferItemKind.WouldDelete => "would delete",
            TransferItemKind.WouldSend => "would send",
            _ => "up to date",
        }} {ActorSync.Transport.Frames.RelativePath.Printable(item.Path)}");
    };

    /// <summary>An item line as <see cref="ItemWriter"/> writes it with --json (a remote end's, read back).</summary>
    public static bool TryReadItem(string line, out TransferItem item)
    {
        item = default;
        if (!line.StartsWith("{\"event\":\"item\"", StringComparison.Ordinal)) return false;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            TransferItemKind? kind = root.GetProperty("action").GetString() switch
            {
                "deleted" => TransferItemKind.Deleted,
                "would_delete" => TransferItemKind.WouldDelete,
                "would_send" => TransferItemKind.WouldSend,
                "up_to_date" => TransferItemKind.UpToDate,
                _ => null,
            };
            if (kind is null || root.GetProperty("path").GetString() is not { } path) return false;
            item = new TransferItem(kind.Value, path, root.TryGetProperty("size", out var size) ? size.GetInt64() : 0);
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException) { return false; }
    }

    private static string ActionOf(TransferItemKind kind) => kind switch
    {
        TransferItemKind.Deleted => "deleted",
        TransferItemKind.WouldDelete => "would_delete",
        TransferItemKind.WouldSend => "would_send",
        _ => "up_to_date",
    };

    public static void Print(TransferSummary s, bool json, bool quiet = false)
    {
        if (json) PrintJson(s);
        var err = Console.Error;
        foreach (string p in s.Problems) err.WriteLine($"actorsync: problem: {p}");
        if (s.Error is not null) err.WriteLine($"actorsync: {s.Error}");
        if (json || quiet && s.ExitCode == ExitCodes.Success) return;
        if (s.DryRun && s.RanToEnd)
        {
            err.WriteLine($"actorsync {s.Role} (dry run, nothing written): " +
                          (s.Role == "send" ? $"would send {s.Files} files ({s.Bytes / 1048576.0:F1} MiB), {s.FilesSkipped} up to date" : $"{s.FilesSkipped} files up to date") +
                          (s.Deleted > 0 ? $", {s.Deleted} would be deleted" : "") + (s.DeletionsSkipped > 0 ? $", {s.DeletionsSkipped} more held back by --max-delete" : ""));
            return;
        }
        if (s.ExitCode == ExitCodes.Success && s.Files == 0 && s.FilesSkipped > 0)
        {
            err.WriteLine($"actorsync {s.Role}: up to date ({s.FilesSkipped} files already there; {s.PayloadBytesSent} bytes of file data sent)" +
                          (s.Deleted > 0 ? $", {s.Deleted} deleted" : ""));
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
        if (s.ExitCode is ExitCodes.Success or ExitCodes.TransferFailed or ExitCodes.MaxDeleteReached && s.Streams > 0)
        {
            double mib = s.Bytes / 1048576.0;
            double rate = s.ElapsedSeconds > 0 ? mib / s.ElapsedSeconds : 0;
            err.WriteLine($"actorsync {s.Role}: {s.Files} files, {s.Dirs} dirs, {s.Symlinks} symlinks, {mib:F1} MiB in {s.ElapsedSeconds:F2} s " +
                          $"({rate:F1} MiB/s) over {s.Streams} streams, crypto {s.Crypto} {s.Cipher}" +
                          (s.SendfileBytes > 0 ? $", {s.SendfileBytes / 1048576.0:F1} MiB by sendfile" : "") +
                          (s.FilesSkipped > 0 ? $", {s.FilesSkipped} up to date" : "") +
                          (s.FilesFailed > 0 ? $", {s.FilesFailed} failed" : "") +
                          (s.Deleted > 0 ? $", {s.Deleted} deleted" : "") +
                          (s.DeletionsSkipped > 0 ? $", {s.DeletionsSkipped} deletions skipped (--max-delete)" : ""));
        }
    }
}
