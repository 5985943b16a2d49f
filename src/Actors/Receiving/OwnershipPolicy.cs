using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// Which owner and group a received entry gets, as rsync -a does: numeric ids as sent when the receiver runs as
/// root; otherwise the receiving user keeps ownership and the group is set only to one the user belongs to.
/// --no-owner and --no-group (either side) leave them as created. The answer is null when no chown is needed,
/// so the common case (files arriving already owned as they should be) costs no syscall.
/// </summary>
internal sealed class OwnershipPolicy
{
    private readonly bool _root, _owner, _group;
    private readonly HashSet<uint> _groups;
    private readonly uint _createdUid, _createdGid;

    /// <param name="createdGid">The group a file created in the receiver's temporary area gets (a setgid DEST passes its own down).</param>
    public OwnershipPolicy(bool preserveOwner, bool preserveGroup, uint createdGid)
    {
        _root = Libc.IsRoot;
        _owner = preserveOwner && _root;
        _group = preserveGroup;
        _groups = _root ? [] : Libc.Groups();
        _createdUid = _root ? 0 : uint.MaxValue;
        _createdGid = createdGid;
    }

    public bool IsRoot => _root;

    /// <summary>The ids to chown a newly created entry to, or null to leave it alone.</summary>
    public (uint Uid, uint Gid)? ForCreated(uint uid, uint gid) => For(uid, gid, _createdUid, _createdGid);

    /// <summary>The ids to chown an existing entry (current owner <paramref name="currentUid"/>:<paramref name="currentGid"/>) to, or null.</summary>
    public (uint Uid, uint Gid)? For(uint uid, uint gid, uint currentUid, uint currentGid)
    {
        uint u = _owner && uid != FrameLimits.KeepId && uid != currentUid ? uid : FrameLimits.KeepId;
        uint g = _group && gid != FrameLimits.KeepId && gid != currentGid && (_root || _groups.Contains(gid)) ? gid : FrameLimits.KeepId;
        return u == FrameLimits.KeepId && g == FrameLimits.KeepId ? null : (u, g);
    }

    /// <summary>Which extended attributes this receiver can set: all as root, the user namespace otherwise (as rsync).</summary>
    public bool MaySetAttribute(string name) => _root || name.StartsWith("user.", StringComparison.Ordinal);
}
