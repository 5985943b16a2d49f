using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ActorSync.Transport.Frames;

namespace ActorSync.Transport.Interop;

/// <summary>
/// A path for libc as the name's own bytes (see <see cref="FileNames"/>), NUL-terminated: in the caller's stack
/// buffer when it fits, in native memory when not (up to PATH_MAX and beyond). A UTF-8 conversion would turn a
/// non-UTF-8 name into U+FFFD and open some other file, or none.
/// </summary>
internal readonly unsafe ref struct NativeName
{
    /// <summary>Room for almost every path without an allocation; a longer one goes to native memory.</summary>
    public const int StackBytes = 512;

    private readonly bool _allocated;

    /// <param name="stack">Stack memory (<c>stackalloc byte[NativeName.StackBytes]</c>): its address is stable for the call.</param>
    public NativeName(string name, Span<byte> stack)
    {
        int length = FileNames.GetByteCount(name);
        Span<byte> buffer;
        if (length + 1 > stack.Length)
        {
            Pointer = (byte*)NativeMemory.Alloc((nuint)length + 1);
            _allocated = true;
            buffer = new Span<byte>(Pointer, length + 1);
        }
        else
        {
            Pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(stack));
            buffer = stack;
        }
        buffer[FileNames.Encode(name, buffer)] = 0;
    }

    public byte* Pointer { get; }

    public void Dispose()
    {
        if (_allocated) NativeMemory.Free(Pointer);
    }
}
