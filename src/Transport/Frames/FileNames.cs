using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace ActorSync.Transport.Frames;

/// <summary>
/// Linux names are bytes (anything but '/' and NUL); .NET strings are UTF-16. Names travel as the kernel's bytes
/// end to end and are held as strings by a lossless mapping (Python's "surrogateescape", PEP 383): valid UTF-8
/// decodes as usual, and each byte that is not part of valid UTF-8 becomes the lone surrogate U+DC80..U+DCFF,
/// which valid UTF-8 can never produce. Encoding reverses it, so any name round-trips byte for byte. Every
/// conversion between a name and bytes (libc calls, frames, journals, logs) goes through here.
/// </summary>
public static class FileNames
{
    private const char EscapeBase = '\uDC00';
    private const int StackLimit = 512;

    /// <summary>The string for a name's bytes.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes) => Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : DecodeEscaping(bytes);

    private static string DecodeEscaping(ReadOnlySpan<byte> bytes)
    {
        // Each byte yields at most one char (a 4-byte sequence yields a surrogate pair), so bytes.Length chars suffice.
        char[]? rented = null;
        Span<char> chars = bytes.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(bytes.Length));
        try
        {
            int written = 0;
            while (!bytes.IsEmpty)
            {
                var status = Utf8.ToUtf16(bytes, chars[written..], out int read, out int wrote, replaceInvalidSequences: false);
                written += wrote;
                bytes = bytes[read..];
                if (status == OperationStatus.Done) break;
                chars[written++] = (char)(EscapeBase + bytes[0]);   // an invalid sequence starts at a byte >= 0x80
                bytes = bytes[1..];
            }
            return new string(chars[..written]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Bytes <see cref="Encode"/> writes for <paramref name="name"/>.</summary>
    public static int GetByteCount(ReadOnlySpan<char> name)
    {
        if (!MayHoldEscapes(name)) return Encoding.UTF8.GetByteCount(name);
        int count = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1])) { count += 4; i++; }
            else if (IsEscape(c)) count += 1;
            else if (char.IsSurrogate(c)) count += 3;   // not ours: written as U+FFFD
            else count += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        }
        return count;
    }

    /// <summary>Writes the bytes of <paramref name="name"/> (at least <see cref="GetByteCount"/> long); returns how many.</summary>
    public static int Encode(ReadOnlySpan<char> name, Span<byte> dest)
    {
        if (!MayHoldEscapes(name)) return Encoding.UTF8.GetBytes(name, dest);
        int at = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                at += Encoding.UTF8.GetBytes(name.Slice(i, 2), dest[at..]);
                i++;
            }
            else if (IsEscape(c)) dest[at++] = (byte)(c - EscapeBase);
            else if (char.IsSurrogate(c)) at += Encoding.UTF8.GetBytes("\uFFFD", dest[at..]);
            else at += Encoding.UTF8.GetBytes(name.Slice(i, 1), dest[at..]);
        }
        return at;
    }

    public static byte[] ToBytes(string name)
    {
        byte[] bytes = new byte[GetByteCount(name)];
        Encode(name, bytes);
        return bytes;
    }

    /// <summary>
    /// A name for people, like <c>ls -b</c>: bytes that are not valid UTF-8 and control characters as octal
    /// escapes (<c>caf\351.txt</c>), newline and tab as <c>\n</c> and <c>\t</c>, a backslash doubled. Lossless
    /// and unambiguous, so two different names never print the same.
    /// </summary>
    public static string Printable(string name)
    {
        int i = 0;
        while (i < name.Length && name[i] is >= ' ' and not '\\' and not '\x7f' and < '\x80') i++;
        if (i == name.Length) return name;
        var sb = new StringBuilder(name.Length + 16);
        sb.Append(name, 0, i);
        for (; i < name.Length; i++)
        {
            char c = name[i];
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\r': sb.Append(@"\r"); break;
                case < ' ' or '\x7f': Octal(sb, c); break;
                case >= '\x80' and <= '\x9f': Octal(sb, 0xC2); Octal(sb, c); break;   // C1 controls: their UTF-8 bytes
                default:
                    if (IsEscape(c) && !(i > 0 && char.IsHighSurrogate(name[i - 1]))) Octal(sb, c - EscapeBase);
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    private static void Octal(StringBuilder sb, int b) => sb.Append('\\').Append((char)('0' + ((b >> 6) & 7))).Append((char)('0' + ((b >> 3) & 7))).Append((char)('0' + (b & 7)));

    private static bool IsEscape(char c) => c is >= '\uDC80' and <= '\uDCFF';

    /// <summary>Only a string with surrogates can hold escapes; the rest takes the vectorised UTF-8 path.</summary>
    private static bool MayHoldEscapes(ReadOnlySpan<char> name) => name.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;
}
