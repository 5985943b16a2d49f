using System.Text;
using Microsoft.Extensions.Configuration;

namespace ActorSync.Configuration;

public static class HoconConfigurationExtensions
{
    /// <summary>
    /// Adds a HOCON file. A relative <paramref name="path"/> is resolved against the current directory now, not
    /// against the builder's base path; errors name the path as given. The file is read at Build (and Reload).
    /// </summary>
    /// <exception cref="FileNotFoundException">At Build, when the file is missing and not <paramref name="optional"/>.</exception>
    public static IConfigurationBuilder AddHoconFile(this IConfigurationBuilder builder, string path, bool optional = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Resolved once so a later change of the current directory cannot redirect a reload.
        string fullPath = Path.GetFullPath(path);
        return builder.Add(new HoconConfigurationSource(path, () => ReadFile(fullPath, optional)));
    }

    public static IConfigurationBuilder AddHoconString(this IConfigurationBuilder builder, string text, string sourceName = "<string>")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        return builder.Add(new HoconConfigurationSource(sourceName, () => text));
    }

    /// <summary>
    /// Adds HOCON read from <paramref name="stream"/> (UTF-8 unless a BOM says otherwise) at the first Build.
    /// The stream is left open: the caller owns it.
    /// </summary>
    public static IConfigurationBuilder AddHoconStream(this IConfigurationBuilder builder, Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        string? text = null;
        // A stream can be read once only, so its text is kept for later reloads.
        return builder.Add(new HoconConfigurationSource(sourceName, () => text ??= ReadStream(stream)));
    }

    private static string? ReadFile(string fullPath, bool optional)
    {
        if (File.Exists(fullPath)) return File.ReadAllText(fullPath);
        if (optional) return null;
        throw new FileNotFoundException($"The configuration file '{fullPath}' was not found.", fullPath);
    }

    private static string ReadStream(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        return reader.ReadToEnd();
    }
}
