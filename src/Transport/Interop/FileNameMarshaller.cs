using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;
using ActorSync.Transport.Frames;

namespace ActorSync.Transport.Interop;

/// <summary>
/// Marshals a path for libc as the name's own bytes (see <see cref="FileNames"/>), NUL-terminated. The stock
/// UTF-8 marshaller would turn a non-UTF-8 name into U+FFFD and open some other file, or none.
/// </summary>
[CustomMarshaller(typeof(string), MarshalMode.ManagedToUnmanagedIn, typeof(ManagedToUnmanagedIn))]
internal static unsafe class FileNameMarshaller
{
    public ref struct ManagedToUnmanagedIn
    {
        /// <summary>Most paths fit on the stack; a longer one (up to PATH_MAX and beyond) goes to native memory.</summary>
        public static int BufferSize => 1024;

        private byte* _native;
        private bool _allocated;

        public void FromManaged(string? managed, Span<byte> buffer)
        {
            if (managed is null) { _native = null; return; }
            int length = FileNames.GetByteCount(managed);
            if (length + 1 > buffer.Length)
            {
                _native = (byte*)NativeMemory.Alloc((nuint)length + 1);
                _allocated = true;
                buffer = new Span<byte>(_native, length + 1);
            }
            else
            {
                // The generator hands us stack memory: its address is stable for the call.
                _native = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer));
            }
            int written = FileNames.Encode(managed, buffer);
            buffer[written] = 0;
        }

        public readonly byte* ToUnmanaged() => _native;

        public readonly void Free()
        {
            if (_allocated) NativeMemory.Free(_native);
        }
    }
}
