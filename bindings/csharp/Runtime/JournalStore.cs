// Journals of the studio's own (its database, its save system): a C# interface behind the
// native td_journal_callbacks. The records are the core's JSON lines, stored and returned as
// given; the rules of what they mean stay in the core.
using System;
using System.Collections.Generic;

namespace TwitchDrops
{
    /// <summary>Where a <see cref="Journal.Custom"/> journal keeps its records: your database.
    /// Records are JSON lines (<c>{"op":"granting","id":...}</c>); store them as given and
    /// return them as given, in order. Storing only the lines of entitlements still open is
    /// allowed (drop an id's lines once its last is <c>settled</c> or <c>not_granted</c>), but
    /// never drop or reorder the lines of an open one. Called on the thread running the
    /// fulfillment (for a <see cref="FulfillRun"/> driven by Update, a thread-pool thread, so
    /// that a write that waits for the disk does not hold up a frame, unless
    /// <see cref="FulfillRun.NativeWorkOnThreadPool"/> is false; by Poll, the one calling
    /// Poll), one call at a time. An exception fails the run with <see cref="DropsErrorCode.Journal"/> before
    /// anything more is granted (<see cref="Journal.StoreException"/> keeps it).</summary>
    public interface IJournalStore
    {
        /// <summary>Every stored record line, in the order appended.</summary>
        IEnumerable<string> Load();

        /// <summary>Stores <paramref name="lines"/> durably; returns once they would survive a crash.</summary>
        void Append(IReadOnlyList<string> lines);
    }

    /// <summary>A store several instances (processes, machines) share, so that each
    /// entitlement is granted by one of them: <see cref="Claim"/> receives the <c>granting</c>
    /// records instead of <see cref="IJournalStore.Append"/>.</summary>
    public interface IClaimingJournalStore : IJournalStore
    {
        /// <summary>Takes a batch for this instance, atomically against the others (one
        /// transaction): store each line whose entitlement no live instance holds (or this one
        /// already does) and answer true for it; false when another instance holds it, or has
        /// granted or settled it (the run reports it HeldElsewhere). Give each claim an owner
        /// and an expiry renewed while the instance lives, and let <see cref="IJournalStore.Load"/>
        /// take over expired claims and return what this instance holds. A <c>not_granted</c>
        /// record frees an id; <c>settled</c> closes it for good. Returns one flag per line.</summary>
        bool[] Claim(IReadOnlyList<string> lines);
    }
}
