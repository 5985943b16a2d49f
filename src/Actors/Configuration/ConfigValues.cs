using System.Globalization;

namespace ActorSync.Configuration;

/// <summary>
/// Akka/HOCON-style sizes and durations, for settings that arrive through IConfiguration as strings.
/// Units are case-sensitive, as in HOCON: "Mb" (megabits?) or "5S" are rejected rather than guessed at.
/// </summary>
public static class ConfigValues
{
    private const string SizeHint = " (expected e.g. 64MiB, 512k, 10MB or a plain number of bytes)";
    private const string DurationHint = " (expected e.g. 250ms, 5s, 2m, 1h, 10 seconds, infinite, or a plain number of milliseconds)";

    /// <summary>
    /// Bytes from "64MiB", "64 MiB", "512k", "10MB", "1.5MiB", "1000": B/KiB/MiB/GiB/TiB and single letters
    /// k/m/g/t (either case) are binary, kB/KB/MB/GB/TB decimal, a plain number is bytes. A fractional byte count is
    /// truncated, as HOCON does.
    /// </summary>
    /// <exception cref="FormatException">Not a size, negative, or larger than <see cref="long.MaxValue"/>.</exception>
    public static long ParseSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CheckSize(text, out long bytes) is { } reason ? throw new FormatException($"invalid size '{text}': {reason}") : bytes;
    }

    public static bool TryParseSize(string? text, out long bytes)
    {
        bytes = 0;
        return text is not null && CheckSize(text, out bytes) is null;
    }

    /// <summary>
    /// "250ms", "5s", "2m", "1h", "2d", "1.5s", "100us", "10 seconds", "3 minutes"; a plain number is milliseconds
    /// (as in Akka); "infinite" is <see cref="Timeout.InfiniteTimeSpan"/>. Precision is one tick (100 ns).
    /// </summary>
    /// <exception cref="FormatException">Not a duration, negative, or beyond <see cref="TimeSpan.MaxValue"/>.</exception>
    public static TimeSpan ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CheckDuration(text, out var value) is { } reason ? throw new FormatException($"invalid duration '{text}': {reason}") : value;
    }

    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        return text is not null && CheckDuration(text, out value) is null;
    }

    private static string? CheckSize(string text, out long bytes)
    {
        bytes = 0;
        if (SplitNumber(text, out decimal number, out string unit) is { } reason) return reason + SizeHint;
        long multiplier = BytesPerUnit(unit);
        if (multiplier == 0) return $"unknown unit '{unit}'" + SizeHint;
        if (number > long.MaxValue / (decimal)multiplier) return "too large";
        bytes = (long)decimal.Truncate(number * multiplier);
        return null;
    }

    private static string? CheckDuration(string text, out TimeSpan value)
    {
        value = default;
        // Akka's spelling; InfiniteTimeSpan (-1 ms) is what timers and Task.Delay understand as "no limit".
        if (text.AsSpan().Trim() is "infinite")
        {
            value = Timeout.InfiniteTimeSpan;
            return null;
        }
        if (SplitNumber(text, out decimal number, out string unit) is { } reason) return reason + DurationHint;
        decimal ticksPerUnit = TicksPerUnit(unit);
        if (ticksPerUnit == 0) return $"unknown unit '{unit}'" + DurationHint;
        if (number > TimeSpan.MaxValue.Ticks / ticksPerUnit) return "too large";
        value = TimeSpan.FromTicks((long)decimal.Truncate(number * ticksPerUnit));
        return null;
    }

    /// <summary>Splits "1.5 MiB" into 1.5 and "MiB"; the number is unsigned digits with an optional fraction.</summary>
    private static string? SplitNumber(string text, out decimal number, out string unit)
    {
        number = 0;
        unit = "";
        var span = text.AsSpan().Trim();
        if (span.IsEmpty) return "empty";
        if (span[0] == '-') return "must not be negative";
        int end = CountDigits(span, 0);
        if (end == 0) return "must start with a number";
        if (end < span.Length && span[end] == '.')
        {
            int fraction = CountDigits(span, end + 1);
            if (fraction == 0) return "expected digits after '.'";
            end += 1 + fraction;
        }
        if (!decimal.TryParse(span[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number)) return "too large";
        unit = span[end..].TrimStart().ToString();
        return null;
    }

    private static int CountDigits(ReadOnlySpan<char> span, int start)
    {
        int i = start;
        while (i < span.Length && char.IsAsciiDigit(span[i])) i++;
        return i - start;
    }

    // 0 = unknown unit.
    private static long BytesPerUnit(string unit) => unit switch
    {
        "" or "B" or "b" or "byte" or "bytes" => 1,
        "K" or "k" or "Ki" or "KiB" or "kibibyte" or "kibibytes" => 1L << 10,
        "M" or "m" or "Mi" or "MiB" or "mebibyte" or "mebibytes" => 1L << 20,
        "G" or "g" or "Gi" or "GiB" or "gibibyte" or "gibibytes" => 1L << 30,
        "T" or "t" or "Ti" or "TiB" or "tebibyte" or "tebibytes" => 1L << 40,
        "kB" or "KB" or "kilobyte" or "kilobytes" => 1_000,
        "MB" or "megabyte" or "megabytes" => 1_000_000,
        "GB" or "gigabyte" or "gigabytes" => 1_000_000_000,
        "TB" or "terabyte" or "terabytes" => 1_000_000_000_000,
        _ => 0,
    };

    // 0 = unknown unit. A bare number is milliseconds, as in Akka.
    private static decimal TicksPerUnit(string unit) => unit switch
    {
        "" or "ms" or "milli" or "millis" or "millisecond" or "milliseconds" => TimeSpan.TicksPerMillisecond,
        "ns" or "nano" or "nanos" or "nanosecond" or "nanoseconds" => 0.01m,
        "us" or "micro" or "micros" or "microsecond" or "microseconds" => TimeSpan.TicksPerMicrosecond,
        "s" or "second" or "seconds" => TimeSpan.TicksPerSecond,
        "m" or "minute" or "minutes" => TimeSpan.TicksPerMinute,
        "h" or "hour" or "hours" => TimeSpan.TicksPerHour,
        "d" or "day" or "days" => TimeSpan.TicksPerDay,
        _ => 0,
    };
}
