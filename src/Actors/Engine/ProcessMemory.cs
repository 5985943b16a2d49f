namespace ActorSync.Engine;

/// <summary>The process's peak resident set (VmHWM), reported in the summary: memory is meant to be bounded by
/// buffer-memory whatever the dataset (or a hostile peer) does, and this is the figure that shows it.</summary>
internal static class ProcessMemory
{
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kib = line.AsSpan(6).Trim();
                return long.TryParse(kib[..kib.IndexOf(' ')], out long v) ? v * 1024 : 0;
            }
        }
        catch (IOException) { }
        return 0;
    }
}
