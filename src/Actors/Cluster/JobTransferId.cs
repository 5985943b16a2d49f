using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace ActorSync.Cluster;

/// <summary>
/// A job unit's transfer id, which is all a receiving node learns on its data port about what it receives: the job
/// (the first 4 bytes of its id, kept unique among running jobs by the coordinator; the node knows the job's DEST
/// from the coordinator), the unit's directory (a 64-bit FNV-1a of its path: every attempt at one directory in one
/// job shares a work area, so an attempt resumes the partial files of the one before) and the attempt (random, so
/// two attempts never share a transfer). A unit of a large file's range has the file's hash with the range's index in
/// its low 20 bits, and says so in the attempt's top 2 bits (<see cref="UnitKind"/>), as does the unit finishing it.
/// </summary>
internal readonly record struct JobTransferId(uint Job, ulong Directory, uint Attempt)
{
    /// <param name="unit">The unit's directory, with its slice for a split one (each slice has a work area of its own).</param>
    public static JobTransferId For(Guid job, string unit) =>
        new(JobPrefix(job), Sending.UnitSlice.Hash(unit), BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4)) >> 2);

    private const ulong IndexMask = (1UL << 20) - 1;

    /// <param name="file">The large file's path; <paramref name="index"/> its range, or -1 for the finishing unit.</param>
    public static JobTransferId ForRange(Guid job, string file, int index)
    {
        var kind = index < 0 ? UnitKind.Finish : UnitKind.Range;
        ulong unit = (Sending.UnitSlice.Hash(file) & ~IndexMask) | (index < 0 ? IndexMask : (ulong)index);
        uint attempt = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4)) >> 2 | (uint)kind << 30;
        return new(JobPrefix(job), unit, attempt);
    }

    public UnitKind Kind => (UnitKind)(Attempt >> 30);

    /// <summary>A range unit's index, -1 for a finishing one, null for a directory's unit.</summary>
    public int? RangeIndex => Kind switch
    {
        UnitKind.Range => (int)(Directory & IndexMask),
        UnitKind.Finish => Receiving.FileRangeUnit.FinishIndex,
        _ => null,
    };

    public static uint JobPrefix(Guid job)
    {
        Span<byte> bytes = stackalloc byte[16];
        job.TryWriteBytes(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public Guid ToGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Job);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[4..], Directory);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[12..], Attempt);
        return new Guid(bytes);
    }

    public static JobTransferId Of(Guid transfer)
    {
        Span<byte> bytes = stackalloc byte[16];
        transfer.TryWriteBytes(bytes);
        return new(BinaryPrimitives.ReadUInt32BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[4..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]));
    }

    /// <summary>The unit's work area in DEST/.actorsync.</summary>
    public string Scope => string.Create(CultureInfo.InvariantCulture, $"job-{Job:x8}-{Directory:x16}");
}
