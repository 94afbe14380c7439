// The fulfillment journal: durable records that keep a crash from leading to a reward given
// twice. Owns its native handle.
using System;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>Where the fulfillment engine records each step before taking it. Keep the same
    /// journal (the same file) from run to run. One run at a time uses it: a second run on
    /// the same journal waits for the first.</summary>
    public sealed class Journal : IDisposable
    {
        private readonly JournalHandle handle;
        private readonly string description;

        private Journal(JournalHandle handle, string description)
        {
            this.handle = handle;
            this.description = description;
        }

        internal JournalHandle Handle { get { return handle; } }

        /// <summary>Taken by a run for its whole length.</summary>
        internal object RunLock { get { return handle; } }

        /// <summary>The managed thread running a fulfillment on this journal (0: none). The
        /// run lock is reentrant; this tells a grant that runs Fulfill on the same journal
        /// (which would give the native run the journal twice) from a run waiting its turn.</summary>
        internal volatile int RunningThread;

        /// <summary>A FulfillRun holds this journal (until it is disposed).</summary>
        internal volatile bool InHostedRun;

        /// <summary>Marks the journal as a FulfillRun's; refused while any run has it.</summary>
        internal void EnterHostedRun()
        {
            if (!System.Threading.Monitor.TryEnter(RunLock))
            {
                throw new InvalidOperationException("this journal is in a run (Fulfill on another thread); one run at a time uses a journal");
            }
            try
            {
                if (InHostedRun || RunningThread != 0)
                {
                    throw new InvalidOperationException("this journal is in another run; dispose that FulfillRun first (one run at a time uses a journal)");
                }
                InHostedRun = true;
            }
            finally
            {
                System.Threading.Monitor.Exit(RunLock);
            }
        }

        internal void LeaveHostedRun()
        {
            InHostedRun = false;
        }

        /// <summary>A journal in a file of JSON lines (created on first use, fsync'd on every
        /// append). A file that cannot be opened fails the run with <see cref="DropsErrorCode.Journal"/>.</summary>
        public static unsafe Journal File(string path)
        {
            var bytes = Utf8.Z(path, "path");
            var handle = new JournalHandle();
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            {
                td_journal* journal = null;
                td_result result;
                fixed (byte* p = bytes)
                {
                    result = NativeMethods.td_journal_new_file(p, &journal, (td_error*)e.Pointer);
                }
                Failures.Check(result, error);
                handle.Own((IntPtr)journal);
            }
            return new Journal(handle, "file journal " + path);
        }

        /// <summary>A journal in memory: no grant is given twice within this process (keep
        /// it from run to run), nothing survives a crash.</summary>
        public static unsafe Journal Memory()
        {
            var handle = new JournalHandle();
            handle.Own((IntPtr)NativeMethods.td_journal_new_memory());
            return new Journal(handle, "memory journal");
        }

        /// <summary>A journal of your own store (a database, a save system): see
        /// <see cref="IJournalStore"/>, and <see cref="IClaimingJournalStore"/> for a store
        /// several instances share. The store is kept for as long as the native journal lives.</summary>
        public static unsafe Journal Custom(IJournalStore store)
        {
            if (store == null) throw new ArgumentNullException("store");
            var binding = new JournalBinding(store);
            var callbacks = binding.Callbacks();
            var handle = new JournalHandle();
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            {
                td_journal* journal = null;
                Failures.Check(NativeMethods.td_journal_new_callbacks(&callbacks, &journal, (td_error*)e.Pointer), error);
                handle.Own((IntPtr)journal);
                handle.Keeps = binding;
            }
            return new Journal(handle, "custom journal") { binding = binding };
        }

        private JournalBinding binding;

        /// <summary>For a <see cref="Custom"/> journal: the last exception its store threw (a
        /// run that failed with <see cref="DropsErrorCode.Journal"/> says why here), or null.</summary>
        public Exception StoreException { get { return binding == null ? null : binding.Thrown; } }

        /// <summary>Frees the native journal (a file journal's file stays). Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>What kind of journal, and its path.</summary>
        public override string ToString() { return description; }
    }
}
