// Process-wide facts about the native library, for leak checks.
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>Diagnostics of the native library.</summary>
    public static class DropsDiagnostics
    {
        /// <summary>Native handles handed out and not yet freed in this process (clients,
        /// journals, and the short-lived ones each call makes). Comes back to its earlier value
        /// once every object is disposed or finalized.</summary>
        public static long LiveNativeHandles
        {
            get { return (long)(ulong)NativeMethods.td_live_handle_count(); }
        }
    }
}
