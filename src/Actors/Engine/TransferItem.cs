namespace ActorSync.Engine;

/// <summary>What happened (or, in a dry run, would happen) to one entry, reported by name as it happens.</summary>
public enum TransferItemKind
{
    /// <summary>--delete removed it from DEST.</summary>
    Deleted,
    /// <summary>--dry-run: --delete would remove it.</summary>
    WouldDelete,
    /// <summary>--dry-run: it would be sent.</summary>
    WouldSend,
    /// <summary>--dry-run: DEST already has it.</summary>
    UpToDate,
}

/// <param name="Size">A file's size in bytes (0 for other entries).</param>
public readonly record struct TransferItem(TransferItemKind Kind, string Path, long Size = 0);
