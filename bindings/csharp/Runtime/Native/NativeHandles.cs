// The native handles the C# layer owns, each a SafeHandle: freed exactly once, by Dispose or
// by the finalizer when a caller forgot, and never while a call is using it (calls take a
// Lease, which holds a reference the runtime counts).
using System;
using System.Runtime.InteropServices;

namespace TwitchDrops.Native
{
    /// <summary>A handle from the C ABI; <see cref="Free"/> is its <c>td_*_free</c>.</summary>
    internal abstract class NativeHandle : SafeHandle
    {
        protected NativeHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>What the native object may call back into for as long as it lives (a
        /// client's <see cref="TransportBinding"/>): kept alive by this handle.</summary>
        internal object Keeps;

        /// <summary>Takes ownership of a pointer the library returned (NULL means it failed).</summary>
        internal void Own(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero)
            {
                throw new OutOfMemoryException("the native library could not allocate a handle");
            }
            SetHandle(pointer);
        }

        protected override bool ReleaseHandle()
        {
            Free(handle);
            return true;
        }

        protected abstract void Free(IntPtr pointer);

        /// <summary>The pointer, kept alive until the lease is disposed; throws
        /// <see cref="ObjectDisposedException"/> once the owner was disposed.</summary>
        internal Lease Use()
        {
            return new Lease(this);
        }
    }

    /// <summary>A counted use of a handle during one native call.</summary>
    internal struct Lease : IDisposable
    {
        private readonly SafeHandle owner;
        private readonly bool added;

        internal Lease(SafeHandle owner)
        {
            this.owner = owner;
            added = false;
            // Throws ObjectDisposedException when the handle is closed.
            owner.DangerousAddRef(ref added);
            Pointer = owner.DangerousGetHandle();
        }

        internal IntPtr Pointer { get; private set; }

        public void Dispose()
        {
            if (added)
            {
                owner.DangerousRelease();
            }
        }
    }

    internal sealed unsafe class ClientHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_client_free((td_client*)p); }
    }

    internal sealed unsafe class ConfigHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_client_config_free((td_client_config*)p); }
    }

    internal sealed unsafe class QueryHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_entitlements_query_free((td_entitlements_query*)p); }
    }

    internal sealed unsafe class PagesHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_pages_free((td_pages*)p); }
    }

    internal sealed unsafe class PageHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_entitlements_page_free((td_entitlements_page*)p); }
    }

    internal sealed unsafe class UpdateReportHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_update_report_free((td_update_report*)p); }
    }

    internal sealed unsafe class ErrorHandle : NativeHandle
    {
        /// <summary>A new, empty <c>td_error</c>.</summary>
        internal static ErrorHandle New()
        {
            var error = new ErrorHandle();
            error.Own((IntPtr)NativeMethods.td_error_new());
            return error;
        }

        protected override void Free(IntPtr p) { NativeMethods.td_error_free((td_error*)p); }
    }

    internal sealed unsafe class JournalHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_journal_free((td_journal*)p); }
    }

    internal sealed unsafe class FulfillOptionsHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_fulfill_options_free((td_fulfill_options*)p); }
    }

    internal sealed unsafe class FulfillReportHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_fulfill_report_free((td_fulfill_report*)p); }
    }

    internal sealed unsafe class DeduplicatorHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_deduplicator_free((td_deduplicator*)p); }
    }

    internal sealed unsafe class EventSubMessageHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_eventsub_message_free((td_eventsub_message*)p); }
    }

    internal sealed unsafe class StopSignalHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_stop_signal_free((td_stop_signal*)p); }
    }

    /// <summary>A td_fulfill_run, with what it holds: the settlement context's GCHandle and
    /// its journal (referenced, and marked in a hosted run), given back when it is freed.</summary>
    internal sealed unsafe class RunHandle : NativeHandle
    {
        internal GCHandle Context;
        internal Journal Journal;

        protected override void Free(IntPtr p)
        {
            NativeMethods.td_fulfill_run_free((td_fulfill_run*)p);
            Abandon();
        }

        /// <summary>Gives back what the run held (also for a run never made).</summary>
        internal void Abandon()
        {
            if (Context.IsAllocated) Context.Free();
            var journal = Journal;
            Journal = null;
            if (journal != null)
            {
                journal.LeaveHostedRun();
                journal.Handle.DangerousRelease();
            }
        }
    }

    internal sealed unsafe class OpHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_op_free((td_op*)p); }
    }

    internal sealed unsafe class AnalyticsQueryHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_analytics_query_free((td_analytics_query*)p); }
    }

    internal sealed unsafe class AnalyticsPageHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_analytics_page_free((td_analytics_page*)p); }
    }

    internal sealed unsafe class BytesHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_bytes_free((td_bytes*)p); }
    }

    internal sealed unsafe class TokenInfoHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_token_info_free((td_token_info*)p); }
    }

    internal sealed unsafe class DeviceCodeHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_device_code_free((td_device_code*)p); }
    }

    internal sealed unsafe class OAuthTokenHandle : NativeHandle
    {
        protected override void Free(IntPtr p) { NativeMethods.td_oauth_token_free((td_oauth_token*)p); }
    }
}
