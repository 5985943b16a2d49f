using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// --delete, once every entry of the transfer is in place: the entries of DEST whose names the sender did not mention
/// are removed, depth first (a directory's contents before it, each counted, as rsync counts), except what the filter
/// rules exclude, which is protected (a directory holding such an entry stays). Names are looked at under their
/// directory's descriptor, never following a symlink, so nothing outside DEST can be reached. --max-delete stops the
/// removals at its count; the rest are counted as skipped.
/// </summary>
/// <param name="dryRun">Only count and name what would go (the walk is the same, nothing is removed).</param>
internal sealed class DeletionPass(int rootFd, DeletionPolicy policy, IReadOnlySet<string> seen, bool dryRun, Action<string> deleted, Action<string, string> problem)
{
    public long Deleted { get; private set; }
    public long Skipped { get; private set; }

    /// <summary>The protecting rules of a policy frame; a rule that does not parse is the peer's protocol error.</summary>
    public static FilterRules? Protection(DeletePolicyFrame? frame)
    {
        if (frame is null) return null;
        var rules = new FilterRules();
        foreach (string rule in frame.Rules)
        {
            try { rules.Add(rule, include: false); }
            catch (FormatException e) { throw new ProtocolException($"deletion policy rule \"{rule}\": {e.Message}"); }
        }
        return rules;
    }

    public void Run() => Prune(rootFd, "");

    /// <summary>A directory of the source: its entries the source lacks go, its subdirectories the source has are pruned too.</summary>
    private void Prune(int dirFd, string rel)
    {
        foreach (string name in Names(dirFd, rel))
        {
            if (rel.Length == 0 && name == RelativePath.ReservedTopLevel) continue;
            string path = rel.Length == 0 ? name : rel + "/" + name;
            if (Libc.StatNoFollow(dirFd, name, out var st) != 0) continue; // gone already
            bool directory = (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
            if (seen.Contains(path))
            {
                if (!directory) continue;
                int fd = Libc.OpenDirectoryToList(dirFd, name);
                if (fd < 0)
                {
                    problem(path, $"cannot look for entries to delete: {Libc.Describe(Libc.LastErrno)}");
                    continue;
                }
                try { Prune(fd, path); }
                finally { Libc.Close(fd); }
                continue;
            }
            if (!policy.Protect.Excludes(path, directory)) Remove(dirFd, name, path, directory);
        }
    }

    /// <summary>Removes an entry the source lacks (a directory with its contents); false when something stays.</summary>
    private bool Remove(int dirFd, string name, string path, bool directory)
    {
        if (directory)
        {
            int fd = Libc.OpenDirectoryToList(dirFd, name);
            if (fd < 0)
            {
                problem(path, $"cannot delete: {Libc.Describe(Libc.LastErrno)}");
                return false;
            }
            bool kept = false;
            try
            {
                foreach (string child in Names(fd, path))
                {
                    string childPath = path + "/" + child;
                    if (Libc.StatNoFollow(fd, child, out var st) != 0) continue;
                    bool childDirectory = (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
                    if (policy.Protect.Excludes(childPath, childDirectory) || !Remove(fd, child, childPath, childDirectory)) kept = true;
                }
            }
            finally { Libc.Close(fd); }
            // rsync's "cannot delete non-empty directory": what is in it is protected (or could not go).
            if (kept) return false;
        }
        if (policy.MaxDelete >= 0 && Deleted >= policy.MaxDelete)
        {
            Skipped++;
            return false;
        }
        if (!dryRun && (directory ? Libc.RemoveDirectory(dirFd, name) : Libc.Unlink(dirFd, name)) != 0)
        {
            problem(path, $"cannot delete: {Libc.Describe(Libc.LastErrno)}");
            return false;
        }
        Deleted++;
        deleted(path);
        return true;
    }

    /// <summary>A directory's names, read in full before any is removed.</summary>
    private List<string> Names(int dirFd, string rel)
    {
        var names = new List<string>();
        int fd = Libc.OpenDirectoryToList(dirFd, ".");
        if (fd < 0)
        {
            problem(rel.Length == 0 ? "." : rel, $"cannot list: {Libc.Describe(Libc.LastErrno)}");
            return names;
        }
        using var listing = new DirectoryListing(fd);
        try
        {
            while (listing.Next(out string name, out _)) names.Add(name);
        }
        catch (IOException e) { problem(rel.Length == 0 ? "." : rel, $"cannot list: {e.Message}"); }
        return names;
    }
}
