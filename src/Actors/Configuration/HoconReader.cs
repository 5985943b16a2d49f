using System.Globalization;
using System.Text;

namespace ActorSync.Configuration;

/// <summary>
/// Recursive-descent reader for the HOCON subset ActorSync supports. Fields are written straight into the tree
/// as they are read, so a substitution sees everything defined above it (and only that).
/// </summary>
internal sealed class HoconReader
{
    private readonly string _text;
    private readonly string _sourceName;
    private readonly HoconObject _root = new();
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    private HoconReader(string text, string sourceName)
    {
        _text = text;
        _sourceName = sourceName;
        if (text.Length > 0 && text[0] == '\uFEFF') _pos = _lineStart = 1; // a BOM is not a column
    }

    public static HoconObject Read(string text, string sourceName) => new HoconReader(text, sourceName).ReadDocument();

    private readonly record struct Mark(int Line, int Column);

    private enum PartKind { Unquoted, Quoted, Substitution }

    // One piece of a value: HOCON concatenates adjacent unquoted text, quoted strings and substitutions.
    private readonly record struct Part(PartKind Kind, string Text, List<string>? Path = null, bool Optional = false, Mark At = default);

    private Mark Here => new(_line, _pos - _lineStart + 1);

    private bool AtEnd => _pos >= _text.Length;

    // -1 past the end, so a NUL in the text is never mistaken for the end.
    private int Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : -1;

    private void Advance()
    {
        if (_text[_pos] == '\n')
        {
            _line++;
            _lineStart = _pos + 1;
        }
        _pos++;
    }

    private void AdvanceTo(int index)
    {
        while (_pos < index) Advance();
    }

    private HoconException Error(Mark at, string reason) => new(_sourceName, at.Line, at.Column, reason);

    private HoconException Error(string reason) => Error(Here, reason);

    private string Found() => AtEnd ? "end of input" : Describe(_text[_pos]);

    private static string Describe(char c) => c switch
    {
        '\n' => "end of line",
        _ when char.IsControl(c) || char.IsWhiteSpace(c) => $"'\\u{(int)c:X4}'",
        _ => $"'{c}'",
    };

    private HoconObject ReadDocument()
    {
        SkipBlank();
        if (Peek() == '{')
        {
            var open = Here;
            Advance();
            ReadFields(_root, open);
            SkipBlank();
            if (!AtEnd) throw Error($"unexpected {Found()} after the root object");
        }
        else
        {
            ReadFields(_root, null);
        }
        return _root;
    }

    /// <summary>Reads fields up to the '}' matching <paramref name="open"/>, or to the end for a root without braces.</summary>
    private void ReadFields(HoconObject target, Mark? open)
    {
        while (true)
        {
            SkipBlank();
            if (AtEnd)
            {
                if (open is { } o) throw Error(o, "unterminated object: '{' is never closed");
                return;
            }
            if (Peek() == '}')
            {
                if (open is null) throw Error("unexpected '}' without a matching '{'");
                Advance();
                return;
            }
            ReadField(target);
            SkipInlineAndComment();
            switch (Peek())
            {
                case ',':
                    Advance();
                    break;
                case '\n' or '}' or -1:
                    break;
                default:
                    throw Error($"expected ',' or a new line after a field, found {Found()}");
            }
        }
    }

    private void ReadField(HoconObject target)
    {
        var keyAt = Here;
        bool quotedKey = Peek() == '"';
        var path = ReadPath();
        SkipInline();
        switch (Peek())
        {
            case '{':
                break;
            case '=' or ':':
                Advance();
                SkipInline();
                break;
            case '+' when Peek(1) == '=':
                throw Error("'+=' is not supported; assign the whole array");
            default:
                if (!quotedKey && path is ["include"]) throw Error(keyAt, "'include' is not supported");
                throw Error($"expected '=' or ':' after key, found {Found()}");
        }

        if (Peek() == '{')
        {
            // Read into the object already at this path (creating it if needed): that is HOCON's object merge.
            var open = Here;
            Advance();
            ReadFields(ObjectAt(target, path, path.Count), open);
            return;
        }
        if (ReadValue() is { } value) Assign(target, path, value);
    }

    /// <summary>Walks the first <paramref name="count"/> segments, replacing non-objects on the way (a later object wins).</summary>
    private static HoconObject ObjectAt(HoconObject target, List<string> path, int count)
    {
        var current = target;
        for (int i = 0; i < count; i++)
        {
            if (current.Fields.TryGetValue(path[i], out var child) && child is HoconObject existing)
            {
                current = existing;
            }
            else
            {
                var created = new HoconObject();
                current.Fields[path[i]] = created;
                current = created;
            }
        }
        return current;
    }

    private static void Assign(HoconObject target, List<string> path, HoconNode value)
    {
        var parent = ObjectAt(target, path, path.Count - 1);
        string key = path[^1];
        if (value is HoconObject incoming && parent.Fields.TryGetValue(key, out var existing) && existing is HoconObject current)
            current.MergeFrom(incoming);
        else
            parent.Fields[key] = value;
    }

    /// <summary>Returns null when the value is an optional substitution that did not resolve.</summary>
    private HoconNode? ReadValue()
    {
        switch (Peek())
        {
            case '{':
                var open = Here;
                Advance();
                var obj = new HoconObject();
                ReadFields(obj, open);
                return obj;
            case '[':
                return ReadArray();
            default:
                return ReadConcatenation();
        }
    }

    private HoconArray ReadArray()
    {
        var open = Here;
        Advance();
        var array = new HoconArray();
        while (true)
        {
            SkipBlank();
            if (AtEnd) throw Error(open, "unterminated array: '[' is never closed");
            if (Peek() == ']')
            {
                Advance();
                return array;
            }
            if (ReadValue() is { } item) array.Items.Add(item);
            SkipInlineAndComment();
            switch (Peek())
            {
                case ',':
                    Advance();
                    break;
                case '\n' or ']' or -1:
                    break;
                default:
                    throw Error($"expected ',' or a new line after an array element, found {Found()}");
            }
        }
    }

    private bool AtValueEnd() => Peek() is '\n' or ',' or '}' or ']' or -1 || AtComment();

    private HoconNode? ReadConcatenation()
    {
        var parts = new List<Part>();
        while (!AtValueEnd())
        {
            char c = _text[_pos];
            if (c == '"')
                parts.Add(new Part(PartKind.Quoted, Peek(1) == '"' && Peek(2) == '"' ? ReadTripleQuoted() : ReadQuoted()));
            else if (c == '$' && Peek(1) == '{')
                parts.Add(ReadSubstitution());
            else if (c is '{' or '[')
                throw Error($"unexpected '{c}' inside a value; quote the value if it is meant literally");
            else
                parts.Add(new Part(PartKind.Unquoted, ReadUnquoted()));
        }

        // Whitespace before a comment or the end of the line is not part of the value.
        if (parts.Count > 0 && parts[^1].Kind == PartKind.Unquoted)
        {
            string trimmed = parts[^1].Text.TrimEnd();
            if (trimmed.Length == 0) parts.RemoveAt(parts.Count - 1);
            else parts[^1] = parts[^1] with { Text = trimmed };
        }

        if (parts.Count == 0) throw Error($"expected a value, found {Found()}");
        if (parts.Count == 1)
        {
            var part = parts[0];
            return part.Kind switch
            {
                PartKind.Substitution => Resolve(part),
                PartKind.Quoted => new HoconScalar(part.Text),
                _ => part.Text switch
                {
                    "null" => new HoconScalar(null),
                    // IConfiguration binds bool from "true"/"false" only, so HOCON's other spellings are normalised.
                    "true" or "yes" or "on" => new HoconScalar("true"),
                    "false" or "no" or "off" => new HoconScalar("false"),
                    var text => new HoconScalar(text),
                },
            };
        }

        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            if (part.Kind != PartKind.Substitution)
            {
                builder.Append(part.Text);
                continue;
            }
            switch (Resolve(part))
            {
                case null:
                    break; // an unresolved ${?X} inside text is empty, as in HOCON
                case HoconScalar { Value: { } text }:
                    builder.Append(text);
                    break;
                case HoconScalar:
                    throw Error(part.At, $"{SubstitutionText(part)} is null and cannot be combined with other text");
                default:
                    throw Error(part.At, $"{SubstitutionText(part)} is an object or array and cannot be combined with other text");
            }
        }
        return new HoconScalar(builder.ToString());
    }

    private string ReadUnquoted()
    {
        int start = _pos;
        while (!AtValueEnd())
        {
            char c = _text[_pos];
            if (c is '"' or '{' or '[' || (c == '$' && Peek(1) == '{')) break;
            _pos++; // never a newline here, so no line bookkeeping
        }
        return _text[start.._pos];
    }

    private string ReadQuoted()
    {
        var open = Here;
        Advance();
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd || _text[_pos] == '\n') throw Error(open, "unterminated string: missing closing '\"'");
            char c = _text[_pos];
            if (c == '"')
            {
                Advance();
                return builder.ToString();
            }
            if (c != '\\')
            {
                builder.Append(c);
                Advance();
                continue;
            }

            var escapeAt = Here;
            Advance();
            if (AtEnd) throw Error(open, "unterminated string: missing closing '\"'");
            char e = _text[_pos];
            Advance();
            switch (e)
            {
                case '"' or '\\' or '/': builder.Append(e); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    if (_pos + 4 > _text.Length
                        || !int.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        throw Error(escapeAt, "invalid escape: '\\u' must be followed by 4 hex digits");
                    builder.Append((char)code);
                    _pos += 4; // hex digits, no newline
                    break;
                default:
                    throw Error(escapeAt, $"invalid escape '\\' followed by {Describe(e)}");
            }
        }
    }

    private string ReadTripleQuoted()
    {
        var open = Here;
        int contentStart = _pos + 3;
        int close = _text.IndexOf("\"\"\"", contentStart, StringComparison.Ordinal);
        if (close < 0) throw Error(open, "unterminated string: missing closing '\"\"\"'");
        // In a run of more than three quotes the last three close the string (HOCON's rule); the rest is content.
        while (close + 3 < _text.Length && _text[close + 3] == '"') close++;
        string content = _text[contentStart..close];
        AdvanceTo(close + 3);
        return content;
    }

    private Part ReadSubstitution()
    {
        var open = Here;
        _pos += 2; // "${"
        bool optional = Peek() == '?';
        if (optional) _pos++;
        SkipInline();
        var path = ReadPath();
        SkipInline();
        if (Peek() != '}')
        {
            if (Peek() is '\n' or -1) throw Error(open, "unterminated substitution: missing '}'");
            throw Error($"expected '}}' to close the substitution, found {Found()}");
        }
        Advance();
        return new Part(PartKind.Substitution, "", path, optional, open);
    }

    private static string SubstitutionText(Part part) => $"${{{(part.Optional ? "?" : "")}{string.Join('.', part.Path!)}}}";

    /// <summary>Earlier config paths first, then the environment; null when an optional substitution finds neither.</summary>
    private HoconNode? Resolve(Part part)
    {
        HoconNode? node = _root;
        foreach (string segment in part.Path!)
            node = node is HoconObject obj && obj.Fields.TryGetValue(segment, out var child) ? child : null;
        if (node is not null) return node.Clone(); // a copy, so later merges into either path stay independent

        string name = string.Join('.', part.Path);
        if (Environment.GetEnvironmentVariable(name) is { } env) return new HoconScalar(env);
        if (part.Optional) return null;
        throw Error(part.At, $"unresolved substitution {SubstitutionText(part)}: not set earlier in the file nor as an environment variable");
    }

    /// <summary>A key path: unquoted segments (letters, digits, '-', '_') or quoted ones, separated by '.'.</summary>
    private List<string> ReadPath()
    {
        var segments = new List<string>();
        while (true)
        {
            var at = Here;
            string segment;
            if (Peek() == '"')
            {
                segment = ReadQuoted();
                // An empty segment would turn into "a::b", which IConfiguration cannot address.
                if (segment.Length == 0) throw Error(at, "empty keys are not supported");
            }
            else
            {
                int start = _pos;
                while (!AtEnd && IsKeyChar(_text[_pos])) _pos++;
                if (_pos == start) throw Error($"expected a key, found {Found()}");
                segment = _text[start.._pos];
            }
            segments.Add(segment);
            if (Peek() != '.') return segments;
            Advance();
        }
    }

    private static bool IsKeyChar(char c) => char.IsLetterOrDigit(c) || c is '-' or '_';

    private bool AtComment() => Peek() == '#' || (Peek() == '/' && Peek(1) == '/');

    private void SkipComment()
    {
        while (!AtEnd && _text[_pos] != '\n') _pos++;
    }

    /// <summary>Whitespace, newlines and comments.</summary>
    private void SkipBlank()
    {
        while (!AtEnd)
        {
            if (char.IsWhiteSpace(_text[_pos])) Advance();
            else if (AtComment()) SkipComment();
            else return;
        }
    }

    private void SkipInline()
    {
        while (!AtEnd && _text[_pos] != '\n' && char.IsWhiteSpace(_text[_pos])) _pos++;
    }

    private void SkipInlineAndComment()
    {
        SkipInline();
        if (AtComment()) SkipComment();
    }
}
