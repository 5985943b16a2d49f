using System.Text.Json.Serialization;

namespace ActorSync.Engine;

/// <summary>What a finished (or failed) transfer reports; serialised as the --json summary.</summary>
public sealed record TransferSummary
{
    [JsonPropertyName("role")] public required string Role { get; init; }
    [JsonPropertyName("ok")] public bool Ok => ExitCode == ExitCodes.Success;
    [JsonPropertyName("exit_code")] public required int ExitCode { get; init; }
    [JsonPropertyName("files")] public long Files { get; init; }
    [JsonPropertyName("dirs")] public long Dirs { get; init; }
    [JsonPropertyName("symlinks")] public long Symlinks { get; init; }
    /// <summary>Names that are hard links to a file sent (or present) under another name: its bytes crossed once.</summary>
    [JsonPropertyName("hardlinks")] public long HardLinks { get; init; }
    /// <summary>Devices, FIFOs and sockets.</summary>
    [JsonPropertyName("specials")] public long Specials { get; init; }
    [JsonPropertyName("bytes")] public long Bytes { get; init; }
    [JsonPropertyName("payload_bytes_sent")] public long PayloadBytesSent { get; init; }
    [JsonPropertyName("wire_bytes")] public long WireBytes { get; init; }
    /// <summary>Files not sent because the destination already had them (size+mtime, or --checksum).</summary>
    [JsonPropertyName("files_skipped")] public long FilesSkipped { get; init; }
    /// <summary>Entries that could not be sent or written (unreadable, vanished, something in the way).</summary>
    [JsonPropertyName("files_failed")] public long FilesFailed { get; init; }
    /// <summary>Bytes of partly received files kept from an interrupted run (verified by hash) and not sent again.</summary>
    [JsonPropertyName("bytes_resumed")] public long BytesResumed { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
    /// <summary>Sender: seconds from the transfer's start to its first file data written to a stream (null: none sent).</summary>
    [JsonPropertyName("first_data_s")] public double? FirstDataSeconds { get; init; }
    /// <summary>Seconds the process had run when the transfer started (the CLI's start-up, before its first byte).</summary>
    [JsonPropertyName("started_s")] public double? StartedSeconds { get; init; }
    [JsonPropertyName("streams")] public int Streams { get; init; }
    [JsonPropertyName("crypto")] public string Crypto { get; init; } = "user";
    [JsonPropertyName("sendfile_bytes")] public long SendfileBytes { get; init; }
    [JsonPropertyName("sendfile_ranges")] public long SendfileRanges { get; init; }
    [JsonPropertyName("cipher")] public string Cipher { get; init; } = "";
    /// <summary>Peak resident memory of the whole process (VmHWM) when the summary was made.</summary>
    [JsonPropertyName("peak_rss_bytes")] public long PeakRssBytes { get; init; } = ProcessMemory.PeakResidentBytes();
    /// <summary>--dry-run: nothing was written; files/bytes are what would be sent, deleted what would be removed.</summary>
    [JsonPropertyName("dry_run")] public bool DryRun { get; init; }
    /// <summary>--delete: entries of DEST the source lacks that were removed (files and directories, each counted).</summary>
    [JsonPropertyName("deleted")] public long Deleted { get; init; }
    /// <summary>--delete: removals --max-delete held back.</summary>
    [JsonPropertyName("deletions_skipped")] public long DeletionsSkipped { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    /// <summary>Per-entry problems (unreadable files and the like), capped so a broken tree cannot flood memory.</summary>
    [JsonPropertyName("problems")] public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>The transfer ran to its end (some entries may still have failed); false when it was stopped by
    /// an error, so its totals are what was planned, not what was done.</summary>
    [JsonIgnore] public bool RanToEnd { get; init; }

    public const int MaxProblemsListed = 100;

    /// <summary>"kernel" or "user" when every stream agreed, "mixed" when they did not, "none" without any.</summary>
    public static string CryptoOf(IEnumerable<string> streamModes)
    {
        var modes = streamModes.Distinct().Take(2).ToArray();
        return modes.Length switch { 0 => "none", 1 => modes[0], _ => "mixed" };
    }
}

[JsonSerializable(typeof(TransferSummary))]
[JsonSerializable(typeof(string))]
[JsonSourceGenerationOptions(WriteIndented = false)]
public sealed partial class SummaryJsonContext : JsonSerializerContext;
