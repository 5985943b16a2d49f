using System.Globalization;
using System.Text.RegularExpressions;

namespace ActorSync.Host.Cli;

/// <summary>Rates as rsync's --bwlimit reads them: a bare number is KiB/s; K, M, G, T (or KiB, MiB...) are powers of
/// 1024, KB, MB, GB, TB powers of 1000; a fraction is allowed (1.5G).</summary>
internal static partial class Rates
{
    public static bool TryParse(string text, out long bytesPerSecond)
    {
        bytesPerSecond = 0;
        var m = RatePattern().Match(text.Trim());
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)) return false;
        string unit = m.Groups[2].Value.ToUpperInvariant();
        string suffix = m.Groups[3].Value.ToUpperInvariant();
        // A bare number is KiB/s; a bare B is bytes.
        int power = unit.Length > 0 ? "KMGT".IndexOf(unit[0], StringComparison.Ordinal) + 1 : suffix.Length > 0 ? 0 : 1;
        double scale = unit.Length > 0 && suffix == "B" ? Math.Pow(1000, power) : Math.Pow(1024, power);
        double bytes = value * scale;
        if (bytes is < 1 or > 1L << 50) return false;
        bytesPerSecond = (long)bytes;
        return true;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)([KMGTkmgt]?)(i?[Bb])?$")]
    private static partial Regex RatePattern();
}
