// A C# IJournalStore behind the native td_journal_callbacks, the way IL2CPP needs it: static
// [MonoPInvokeCallback] methods behind delegates in static fields (their function pointers in
// the callbacks struct), the store reached through user_data as a weak GCHandle kept alive by
// the journal's SafeHandle. No exception crosses into native code: a store that throws fails
// the call (a non-zero return), and the exception is kept for the journal's owner.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace TwitchDrops.Native
{
    internal sealed unsafe class JournalBinding
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int LoadFn(void* userData, td_journal_sink* sink);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int AppendFn(void* userData, td_str* lines, UIntPtr count);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate int ClaimFn(void* userData, td_str* lines, UIntPtr count, byte* taken);

        /// <summary>The thunks; static, so never collected.</summary>
        internal static readonly LoadFn Load = OnLoad;
        internal static readonly AppendFn Append = OnAppend;
        internal static readonly ClaimFn Claim = OnClaim;

        private readonly IJournalStore store;
        private GCHandle self;

        internal JournalBinding(IJournalStore store)
        {
            this.store = store;
            self = GCHandle.Alloc(this, GCHandleType.Weak);
        }

        ~JournalBinding()
        {
            if (self.IsAllocated) self.Free();
        }

        /// <summary>The last exception the store threw.</summary>
        internal volatile Exception Thrown;

        internal td_journal_callbacks Callbacks()
        {
            return new td_journal_callbacks
            {
                user_data = (void*)GCHandle.ToIntPtr(self),
                load = (void*)Marshal.GetFunctionPointerForDelegate(Load),
                append = (void*)Marshal.GetFunctionPointerForDelegate(Append),
                claim = store is IClaimingJournalStore ? (void*)Marshal.GetFunctionPointerForDelegate(Claim) : null,
            };
        }

        private static JournalBinding Of(void* userData)
        {
            var binding = (JournalBinding)GCHandle.FromIntPtr((IntPtr)userData).Target;
            if (binding == null) throw new ObjectDisposedException("journal store");
            return binding;
        }

        private static List<string> Lines(td_str* lines, UIntPtr count)
        {
            var list = new List<string>(checked((int)(ulong)count));
            for (ulong i = 0; i < (ulong)count; i++) list.Add(Utf8.Of(lines[i]));
            return list;
        }

        [AOT.MonoPInvokeCallback(typeof(LoadFn))]
        private static int OnLoad(void* userData, td_journal_sink* sink)
        {
            JournalBinding binding = null;
            try
            {
                binding = Of(userData);
                var lines = binding.store.Load();
                if (lines == null) return 0;
                foreach (var line in lines)
                {
                    var text = Utf8.Message(line, "(a line that is not valid text)");
                    fixed (byte* p = text)
                    {
                        // A refused line fails the whole load (the sink remembers which).
                        if (NativeMethods.td_journal_sink_push(sink, p) != td_result.TD_OK) return 0;
                    }
                }
                return 0;
            }
            catch (Exception exception)
            {
                if (binding != null) binding.Thrown = exception;
                return 1;
            }
        }

        [AOT.MonoPInvokeCallback(typeof(AppendFn))]
        private static int OnAppend(void* userData, td_str* lines, UIntPtr count)
        {
            JournalBinding binding = null;
            try
            {
                binding = Of(userData);
                binding.store.Append(Lines(lines, count));
                return 0;
            }
            catch (Exception exception)
            {
                if (binding != null) binding.Thrown = exception;
                return 1;
            }
        }

        [AOT.MonoPInvokeCallback(typeof(ClaimFn))]
        private static int OnClaim(void* userData, td_str* lines, UIntPtr count, byte* taken)
        {
            JournalBinding binding = null;
            try
            {
                binding = Of(userData);
                var claiming = (IClaimingJournalStore)binding.store;
                var answer = claiming.Claim(Lines(lines, count));
                if (answer == null || answer.Length != (int)(ulong)count)
                {
                    throw new InvalidOperationException("Claim returned " + (answer == null ? "null" : answer.Length + " flags")
                        + " for " + (ulong)count + " lines");
                }
                for (var i = 0; i < answer.Length; i++) taken[i] = answer[i] ? (byte)1 : (byte)0;
                return 0;
            }
            catch (Exception exception)
            {
                if (binding != null) binding.Thrown = exception;
                return 1;
            }
        }
    }
}
