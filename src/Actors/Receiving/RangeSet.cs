using ActorSync.Transport;

namespace ActorSync.Receiving;

/// <summary>
/// Which byte ranges of a file have arrived. Ranges come roughly in order, so the list stays a handful of
/// merged intervals; an overlap is a protocol violation (the sender never sends a byte twice).
/// </summary>
internal sealed class RangeSet
{
    /// <summary>
    /// Separate pieces one file may be in at once. A sender's ranges of a file go out in order, spread over
    /// its streams, so the gaps number at most the chunks in flight on all streams: tens, a few hundred with
    /// a large pool. A peer sending every other byte would otherwise grow this list (and its O(n) inserts)
    /// without end.
    /// </summary>
    public const int MaxSegments = 4096;

    private readonly List<(long Start, long End)> _ranges = [];

    public long Covered { get; private set; }

    /// <summary>The merged ranges, in order, as [Start, End).</summary>
    public IReadOnlyList<(long Start, long End)> Segments => _ranges;

    /// <summary>Whether all of [start, start+length) is in the set.</summary>
    public bool Covers(long start, long length)
    {
        foreach (var (s, e) in _ranges)
        {
            if (e <= start) continue;   // merged and in order: the first that reaches past start is the only candidate
            return s <= start && e >= start + length;
        }
        return false;
    }

    /// <summary>End of the contiguous run of bytes from offset 0 (0 if byte 0 has not arrived).</summary>
    public long Prefix => _ranges.Count > 0 && _ranges[0].Start == 0 ? _ranges[0].End : 0;

    /// <summary>
    /// A retransmission after a stream was re-established may repeat bytes already received: adds only the
    /// parts of [start, start+length) not yet covered, and returns how many bytes were new.
    /// </summary>
    public long AddAllowingOverlap(long start, long length)
    {
        long end = start + length, added = 0, cursor = start;
        foreach (var (s, e) in _ranges.ToArray())
        {
            if (e <= cursor) continue;
            if (s >= end) break;
            if (s > cursor && TryAdd(cursor, s - cursor)) added += s - cursor;
            cursor = Math.Max(cursor, e);
            if (cursor >= end) break;
        }
        if (cursor < end && TryAdd(cursor, end - cursor)) added += end - cursor;
        return added;
    }

    /// <summary>Adds [start, start+length); false if it overlaps what is there.</summary>
    public bool TryAdd(long start, long length)
    {
        long end = start + length;
        int i = _ranges.Count;
        while (i > 0 && _ranges[i - 1].Start >= end) i--;   // fast path: appends scan nothing
        if (i > 0 && _ranges[i - 1].End > start) return false;
        if (i < _ranges.Count && _ranges[i].Start < end) return false;
        bool joinLeft = i > 0 && _ranges[i - 1].End == start;
        bool joinRight = i < _ranges.Count && _ranges[i].Start == end;
        if (joinLeft && joinRight) { _ranges[i - 1] = (_ranges[i - 1].Start, _ranges[i].End); _ranges.RemoveAt(i); }
        else if (joinLeft) _ranges[i - 1] = (_ranges[i - 1].Start, end);
        else if (joinRight) _ranges[i] = (start, _ranges[i].End);
        else if (_ranges.Count >= MaxSegments) ThrowHelper.ThrowProtocol($"a file arrived in more than {MaxSegments} separate pieces at once");
        else _ranges.Insert(i, (start, end));
        Covered += length;
        return true;
    }
}
