using System.Buffers.Binary;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// The modes and mtimes of a transfer's directories, applied once their contents are written. They are
/// appended to a file in DEST/.actorsync/tmp rather than kept in memory: a tree of a million directories (or a
/// peer repeating one Directory frame forever) costs disk the size of what was sent, not RAM. The file is a
/// temporary of the transfer, removed with the others.
/// </summary>
internal sealed class DirectoryMetadataLog : IDisposable
{
    /// <summary>Record header: depth u16, mode u32, mtime sec i64 + nsec u32, uid u32, gid u32, path length u16.</summary>
    private const int RecordHeader = 2 + 4 + 8 + 4 + 4 + 4 + 2;
    private readonly FileStream _file;
    private readonly byte[] _record = new byte[RecordHeader + FrameLimits.MaxPathBytes];
    private int _maxDepth;

    public DirectoryMetadataLog(DestinationTree tree, Guid transferId) => _file = tree.CreateWorkLog($"{transferId:N}-dirs", "directory metadata log");

    public long Count { get; private set; }

    public void Add(in DirectoryFrame d)
    {
        int depth = d.Path.AsSpan().Count('/');
        _maxDepth = Math.Max(_maxDepth, depth);
        int length = FileNames.Encode(d.Path, _record.AsSpan(RecordHeader));
        var h = _record.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)depth);
        BinaryPrimitives.WriteUInt32LittleEndian(h[2..], d.Mode);
        BinaryPrimitives.WriteInt64LittleEndian(h[6..], d.MTime.Seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], d.MTime.Nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], d.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], d.Gid);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)length);
        _file.Write(_record, 0, RecordHeader + length);
        Count++;
    }

    /// <summary>
    /// Deepest first, so a parent made read-only (or unsearchable) never blocks setting a child. One pass per
    /// depth level: trees are shallow, and a pass reads the log from the page cache.
    /// </summary>
    public IEnumerable<DirectoryFrame> DeepestFirst()
    {
        _file.Flush();
        for (int depth = _maxDepth; depth >= 0; depth--)
        {
            _file.Position = 0;
            while (_file.Position < _file.Length)
            {
                _file.ReadExactly(_record, 0, RecordHeader);
                var h = _record.AsSpan();
                int length = BinaryPrimitives.ReadUInt16LittleEndian(h[26..]);
                _file.ReadExactly(_record, RecordHeader, length);
                if (BinaryPrimitives.ReadUInt16LittleEndian(h) != depth) continue;
                yield return new DirectoryFrame(
                    FileNames.Decode(_record.AsSpan(RecordHeader, length)),
                    BinaryPrimitives.ReadUInt32LittleEndian(h[2..]),
                    new FileTime(BinaryPrimitives.ReadInt64LittleEndian(h[6..]), BinaryPrimitives.ReadUInt32LittleEndian(h[14..])),
                    BinaryPrimitives.ReadUInt32LittleEndian(h[18..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(h[22..]));
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
