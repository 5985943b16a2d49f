using System.Buffers.Binary;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// The hard links of a transfer, made once every file has arrived (a link's first name may come on any stream,
/// at any time). Appended to a file in DEST/.actorsync/tmp rather than kept in memory, like the directory
/// metadata: a tree of millions of links costs disk the size of what was sent, not RAM.
/// </summary>
internal sealed class HardLinkLog : IDisposable
{
    /// <summary>Record header: target size i64, target mtime sec i64 + nsec u32, path length u16, target length u16.</summary>
    private const int RecordHeader = 8 + 8 + 4 + 2 + 2;
    private readonly FileStream _file;
    private readonly byte[] _record = new byte[RecordHeader + 2 * FrameLimits.MaxPathBytes];

    public HardLinkLog(DestinationTree tree, Guid transferId) => _file = tree.CreateWorkLog($"{transferId:N}-links", "hard link log");

    public long Count { get; private set; }

    public void Add(in HardLinkFrame link)
    {
        var h = _record.AsSpan();
        int pathLength = FileNames.Encode(link.Path, h[RecordHeader..]);
        int targetLength = FileNames.Encode(link.Target, h[(RecordHeader + pathLength)..]);
        BinaryPrimitives.WriteInt64LittleEndian(h, link.TargetSize);
        BinaryPrimitives.WriteInt64LittleEndian(h[8..], link.TargetMTime.Seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], link.TargetMTime.Nanoseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], (ushort)pathLength);
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], (ushort)targetLength);
        _file.Write(_record, 0, RecordHeader + pathLength + targetLength);
        Count++;
    }

    /// <summary>The links in the order they came.</summary>
    public IEnumerable<HardLinkFrame> All()
    {
        _file.Flush();
        _file.Position = 0;
        while (_file.Position < _file.Length)
        {
            _file.ReadExactly(_record, 0, RecordHeader);
            int pathLength = BinaryPrimitives.ReadUInt16LittleEndian(_record.AsSpan(20));
            int targetLength = BinaryPrimitives.ReadUInt16LittleEndian(_record.AsSpan(22));
            _file.ReadExactly(_record, RecordHeader, pathLength + targetLength);
            yield return new HardLinkFrame(
                FileNames.Decode(_record.AsSpan(RecordHeader, pathLength)),
                FileNames.Decode(_record.AsSpan(RecordHeader + pathLength, targetLength)),
                BinaryPrimitives.ReadInt64LittleEndian(_record),
                new FileTime(BinaryPrimitives.ReadInt64LittleEndian(_record.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(_record.AsSpan(16))));
        }
    }

    public void Dispose() => _file.Dispose();
}
