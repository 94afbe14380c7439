// Text across the boundary: C# strings to NUL-terminated UTF-8 going in, td_str views and
// caller buffers to C# strings coming out.
using System;
using System.Text;

namespace TwitchDrops.Native
{
    internal static unsafe class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>The NUL-terminated UTF-8 bytes of <paramref name="text"/>; NULL text is an
        /// <see cref="ArgumentNullException"/> naming <paramref name="name"/>.</summary>
        internal static byte[] Z(string text, string name)
        {
            if (text == null)
            {
                throw new ArgumentNullException(name);
            }
            if (text.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("contains a NUL character", name);
            }
            var bytes = new byte[Strict.GetByteCount(text) + 1];
            Strict.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The NUL-terminated UTF-8 bytes of a message for native code, which must
        /// not fail: NUL characters become spaces, and text that cannot be encoded becomes
        /// <paramref name="fallback"/>.</summary>
        internal static byte[] Message(string text, string fallback)
        {
            try
            {
                return Z((text ?? "").Replace('\0', ' '), "message");
            }
            catch (ArgumentException)
            {
                return Z(fallback, "fallback");
            }
        }

        /// <summary>A copy of a borrowed view.</summary>
        internal static string Of(td_str view)
        {
            if (view.ptr == null || view.len == UIntPtr.Zero)
            {
                return "";
            }
            return Encoding.UTF8.GetString(view.ptr, checked((int)(ulong)view.len));
        }

        internal delegate td_result CopyOut(byte* buf, UIntPtr len, UIntPtr* lenOut);

        /// <summary>Text a function copies into a caller buffer, grown once when too small.</summary>
        internal static string Copied(CopyOut copy)
        {
            var buffer = new byte[256];
            for (var attempt = 0; attempt < 2; attempt++)
            {
                UIntPtr len;
                td_result result;
                fixed (byte* buf = buffer)
                {
                    result = copy(buf, (UIntPtr)buffer.Length, &len);
                }
                if (result == td_result.TD_OK)
                {
                    return Encoding.UTF8.GetString(buffer, 0, checked((int)(ulong)len));
                }
                if (result != td_result.TD_BUFFER_TOO_SMALL)
                {
                    return "";
                }
                buffer = new byte[checked((int)(ulong)len)];
            }
            return "";
        }
    }
}
