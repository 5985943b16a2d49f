namespace ActorSync.Sending;

/// <summary>
/// What a cluster job's unit walks: one directory's entries (<paramref name="Path"/>, relative to SRC), or a slice of
/// them (<paramref name="Slice"/> of <paramref name="Slices"/>, see <see cref="UnitSlice"/>; slice -1 sends the
/// directory's own entry alone), or with <paramref name="OneFile"/> the one file at <paramref name="Path"/> (a unit
/// carrying a range of it, or finishing it). A directory's files above <paramref name="RangesAbove"/> bytes (0: none)
/// that the receiver needs are not sent: they are reported, to be sent in ranges by units of their own.
/// </summary>
internal sealed record WalkUnit(string Path, int Slice = 0, int Slices = 1, long RangesAbove = 0, bool OneFile = false)
{
    /// <summary>Ranges one file may be sent in at most (the index travels in 20 bits of the transfer id).</summary>
    public const int MaxRanges = (1 << 20) - 1;
}
