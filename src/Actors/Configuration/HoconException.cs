namespace ActorSync.Configuration;

/// <summary>
/// A HOCON text could not be read. The message is one line, "source:line:column: reason", so it can be shown
/// to the user as is; line and column are 1-based (the column counts UTF-16 characters, a tab counts one).
/// </summary>
public sealed class HoconException : FormatException
{
    internal HoconException(string sourceName, int line, int column, string reason)
        : base($"{sourceName}:{line}:{column}: {reason}")
    {
        SourceName = sourceName;
        Line = line;
        Column = column;
    }

    /// <summary>The file path or name the text came from (not <see cref="Exception.Source"/>, which is the throwing assembly).</summary>
    public string SourceName { get; }

    public int Line { get; }

    public int Column { get; }
}
