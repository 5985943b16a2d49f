namespace ActorSync.Sending;

/// <summary>What the walker found; written by the walker only, read after it has stopped.</summary>
internal sealed class WalkResult
{
    public long Files;
    public long Directories;
    public long Symlinks;
    public long Bytes;

    /// <summary>A walk of one directory alone (a cluster job's unit): the subdirectories it found and did not enter.</summary>
    public List<string>? Subdirectories;
}
