namespace ActorSync.Sending;

/// <summary>
/// What a cluster job's unit walks: one directory's entries (<paramref name="Path"/>, relative to SRC), or a slice of
/// them (<paramref name="Slice"/> of <paramref name="Slices"/>, see <see cref="UnitSlice"/>; slice -1 sends the
/// directory's own entry alone), or with <paramref name="OneFile"/> the one file at <paramref name="Path"/> (a unit
/// carrying a range of it, or finishing it). A directory's files above <paramref name="RangesAbove"/> bytes (0: none)
/// that the receiver needs are not sent: they are reported, to be sent in ranges by units of their own. A unit of
/// small directories walks <see cref="Then"/> after <paramref name="Path"/>, one after another, until its files reach
/// <see cref="ByteBudget"/> bytes; the directories it did not get to are reported, for other units.
/// </summary>
internal sealed record WalkUnit(string Path, int Slice = 0, int Slices = 1, long RangesAbove = 0, bool OneFile = false)
{
    public IReadOnlyList<string> Then { get; init; } = [];
    public long ByteBudget { get; init; }

    /// <summary>
    /// Ranges one file may be sent in at most: a range's unit is told the rest of the file is held, in blocks of at
    /// most 1 GiB (FrameLimits.MaxBlocksPerFile = 4096 of them per file), plus up to one block per gap between the
    /// ranges already confirmed; 2,048 ranges of at most 1 GiB keep that under the cap whatever is confirmed. A larger
    /// file (over 512 GiB with the default range size) is sent whole by its directory's unit.
    /// </summary>
    public const int MaxRanges = 2048;

    /// <summary>Size of a file that may go in ranges at most: 1 TiB in 1 GiB blocks is a quarter of the block cap.</summary>
    public const long MaxRangedBytes = 1L << 40;

    /// <summary>Whether a file of <paramref name="size"/> goes in ranges of <paramref name="rangeBytes"/>.</summary>
    public static bool GoesInRanges(long size, long rangeBytes) =>
        rangeBytes > 0 && size > rangeBytes && size <= MaxRangedBytes && (size + rangeBytes - 1) / rangeBytes <= MaxRanges;
}
