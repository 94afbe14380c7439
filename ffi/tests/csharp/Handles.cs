// Native handles owned by SafeHandles: disposed twice, used after Dispose, abandoned
// iterators, a client disposed while a Task uses it, and a GC stress: thousands of clients and
// journals never disposed, collected, their finalizers run. The native library's live-handle
// count must come back to where it started every time, and RSS must stay flat across rounds.
// Prints: created=N peak=N baseline=N after=N rounds=N rss_first_kb=N rss_last_kb=N
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TwitchDrops;

/// <summary>A journal store with nothing in it.</summary>
sealed class NoStore : IJournalStore
{
    public System.Collections.Generic.IEnumerable<string> Load() { return new string[0]; }
    public void Append(System.Collections.Generic.IReadOnlyList<string> lines) { }
}

static class Handles
{
    static long Live { get { return DropsDiagnostics.LiveNativeHandles; } }

    static void Collect()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    static long RssKb()
    {
        var line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmRSS:"));
        return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    static void Abandon(int n)
    {
        for (var i = 0; i < n; i++)
        {
            new DropsClient(T.Config());
            Journal.Memory();
        }
    }

    /// <summary>In a method of its own, so that its last locals are dead once it returns.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void AbandonSteps()
    {
        for (var i = 0; i < 200; i++)
        {
            var c = new DropsClient(T.Config());
            var j = i % 2 == 0 ? Journal.Memory() : Journal.Custom(new NoStore());
            var run = c.BeginFulfill(new FulfillOptions { StopSignal = new DropsStopSignal() }, j);
            T.Check(run.Poll().Kind == RunStepKind.Send, "a run's first step");
            var op = c.BeginValidateToken();
            var first = op.Poll().Kind;
            T.Check(first != OperationStepKind.Done, "an operation's first step: " + first);
            new Deduplicator(10).FirstTime("m");
            if (i % 3 == 0)
            {
                var busy = T.Throws<InvalidOperationException>(() => c.BeginFulfill(new FulfillOptions(), j), "a journal in a run");
                T.Check(!(busy is ObjectDisposedException), "refused for the run: " + busy.Message);
                j.Dispose();
                c.Dispose();
                run.Dispose();
            }
        }
    }

    static int Main(string[] args)
    {
        var baseline = Live;

        // Disposed twice; used after Dispose.
        var client = new DropsClient(T.Config());
        T.Check(Live == baseline + 1, "one live client: " + (Live - baseline));
        client.Dispose();
        client.Dispose();
        T.Check(Live == baseline, "freed once");
        T.Throws<ObjectDisposedException>(() => { var n = client.RequestsSent; }, "RequestsSent after Dispose");
        T.Throws<ObjectDisposedException>(() => client.Entitlements(new EntitlementQuery()), "listing after Dispose");
        var journal = Journal.Memory();
        journal.Dispose();
        journal.Dispose();
        T.Throws<ObjectDisposedException>(() => new DropsClient(T.Config()).Fulfill(new FulfillOptions(), journal, r => GrantOutcome.Granted), "a disposed journal");
        Collect();
        T.Check(Live == baseline, "nothing left after the double disposals: " + (Live - baseline));

        // Iterators: left early by foreach (disposed), and abandoned mid-way (finalized).
        using (client = new DropsClient(T.Config()))
        {
            var query = new EntitlementQuery { GameId = T.Env("TWITCH_GAME_ID"), First = 10 };
            foreach (var e in client.Entitlements(query)) break;
            T.Check(Live == baseline + 1, "foreach's break frees the pages: " + (Live - baseline));
            var abandoned = client.Entitlements(query).GetEnumerator();
            abandoned.MoveNext();
            abandoned = null;
            // A client disposed while a Task uses it: the call finishes, or never starts.
            var task = Task.Run(() => client.Entitlements(query).Take(25).Count());
            client.Dispose();
            try
            {
                T.Check(task.Result == 25, "the call in flight finished");
            }
            catch (AggregateException e)
            {
                T.Check(e.InnerException is ObjectDisposedException, "or refused cleanly: " + e.InnerException);
            }
        }
        Collect();
        T.Check(Live == baseline, "abandoned iterators and the in-flight client freed: " + (Live - baseline));

        // The step API's handles left to the GC: runs and operations that handed out a step,
        // deduplicators, custom journals, stop signals, device codes never asked for. A
        // journal disposed before its run is freed with the run.
        AbandonSteps();
        Collect();
        T.Check(Live == baseline, "abandoned runs, operations, deduplicators and journals freed: " + (Live - baseline));

        // GC stress: rounds of clients and journals never disposed.
        var perRound = int.Parse(args[0]);
        var rounds = int.Parse(args[1]);
        long peak = 0, rssFirst = 0, rssLast = 0;
        for (var round = 0; round < rounds; round++)
        {
            Abandon(perRound);
            peak = Math.Max(peak, Live - baseline);
            Collect();
            T.Check(Live == baseline, "round " + round + ": every finalizer freed its handle: " + (Live - baseline) + " left");
            if (round == 0) rssFirst = RssKb();
            rssLast = RssKb();
        }
        T.Check(peak > 0, "the stress made handles");
        Console.WriteLine("created={0} peak={1} baseline={2} after={3} rounds={4} rss_first_kb={5} rss_last_kb={6}",
            perRound * 2 * rounds, peak, baseline, Live, rounds, rssFirst, rssLast);
        return 0;
    }
}
