namespace ActorSync.Sending;

/// <summary>What the walker found; written by the walker only, read after it has stopped.</summary>
internal sealed class WalkResult
{
    public long Files;
    public long Directories;
    public long Symlinks;
    public long Bytes;

    /// <summary>A walk of one directory alone (a cluster job's unit): the subdirectories it found and did not enter,
    /// and how many entries each holds (so a huge one can be split).</summary>
    public List<string>? Subdirectories;
    public List<int>? SubdirectoryEntries;

    /// <summary>Files the receiver needs that are large enough to go in ranges, each by a unit of its own (not sent
    /// by this walk's transfer, nor counted in its figures).</summary>
    public List<(string Path, long Size)>? LargeFiles;

    /// <summary>Directories of a unit's batch it did not walk (its byte budget was spent), left to other units.</summary>
    public string[]? Deferred;
}
