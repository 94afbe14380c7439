// Custom journals from C#: the studio's own store behind Journal.Custom.
//   crash    a store whose Append fails part way: the run stops with a Journal error naming
//            the store's exception; a second run on the repaired store (loading what was
//            stored) grants the rest, nothing twice; prints crash: ok granted=N resumed=N
//   shared   two instances in two threads share one claiming store (a table with an owner per
//            entitlement): each entitlement granted by one; prints shared: a=N b=N held=N twice=N
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using TwitchDrops;

/// <summary>A table of record lines (a database), failing on demand.</summary>
// example: store
class ListStore : IJournalStore
{
    public readonly List<string> Lines = new List<string>();
    public int AppendsLeft = int.MaxValue;

    public IEnumerable<string> Load() { lock (Lines) return Lines.ToList(); }

    public void Append(IReadOnlyList<string> lines)
    {
        lock (Lines)
        {
            if (AppendsLeft-- <= 0) throw new IOException("the database went away");
            Lines.AddRange(lines);
        }
    }
}
// end example

/// <summary>One row per entitlement with its state and holder, as in the root README's sketch.</summary>
sealed class SharedStore
{
    readonly Dictionary<string, string[]> rows = new Dictionary<string, string[]>();

    static string Field(string line, string name) { return Regex.Match(line, "\"" + name + "\":\"([^\"]*)\"").Groups[1].Value; }

    public bool[] Claim(string owner, IReadOnlyList<string> lines)
    {
        lock (rows)
        {
            return lines.Select(line =>
            {
                string[] row;
                var free = !rows.TryGetValue(Field(line, "id"), out row) || row[0] == "not_granted";
                if (free) rows[Field(line, "id")] = new[] { "granting", owner };
                return free;
            }).ToArray();
        }
    }

    public void Append(IReadOnlyList<string> lines)
    {
        lock (rows)
        {
            foreach (var line in lines)
            {
                string[] row;
                if (rows.TryGetValue(Field(line, "id"), out row)) row[0] = Field(line, "op");
                else rows[Field(line, "id")] = new[] { Field(line, "op"), "" };
            }
        }
    }
}

sealed class Instance : IClaimingJournalStore
{
    readonly SharedStore table;
    readonly string name;
    public Instance(SharedStore table, string name) { this.table = table; this.name = name; }
    public IEnumerable<string> Load() { return new string[0]; }
    public void Append(IReadOnlyList<string> lines) { table.Append(lines); }
    public bool[] Claim(IReadOnlyList<string> lines) { return table.Claim(name, lines); }
}

static class CustomJournalMain
{
    static int Crash()
    {
        var store = new ListStore { AppendsLeft = 3 };
        var given = new HashSet<string>();
        int twice = 0, resumed = 0;
        Func<GrantRequest, GrantOutcome> grant = r =>
        {
            if (r.Resumed) resumed++;
            if (!given.Add(r.Id) && !r.Resumed) twice++;
            return GrantOutcome.Granted;
        };
        var options = new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 20 };
        using (var client = new DropsClient(T.Config()))
        {
            using (var journal = Journal.Custom(store))
            {
                var failed = T.Throws<DropsException>(() => client.Fulfill(options, journal, grant), "the store fails");
                T.Check(failed.Code == DropsErrorCode.Journal, "a journal error: " + failed.Code);
                T.Check(journal.StoreException is IOException && journal.StoreException.Message == "the database went away",
                    "the store's exception is kept: " + journal.StoreException);
                T.Check(failed.FulfillReport != null && !failed.FulfillReport.IsComplete, "a partial report");
            }
            var first = given.Count;
            T.Check(first > 0 && store.Lines.Count > 0, "some were given and stored");
            store.AppendsLeft = int.MaxValue;
            using (var journal = Journal.Custom(store))
            {
                var report = client.Fulfill(options, journal, grant);
                T.Check(report.IsComplete, "the rest: " + report);
            }
            T.Throws<ArgumentNullException>(() => Journal.Custom(null), "a null store");
            T.Check(twice == 0, "nothing given twice");
            Console.WriteLine("crash: ok granted=" + given.Count + " resumed=" + resumed + " twice=" + twice);
        }
        return 0;
    }

    static int Shared()
    {
        var table = new SharedStore();
        var given = new List<string>();
        var results = new FulfillReport[2];
        var threads = new[] { "a", "b" }.Select((name, i) => new Thread(() =>
        {
            using (var client = new DropsClient(T.Config()))
            using (var journal = Journal.Custom(new Instance(table, name)))
            {
                results[i] = client.Fulfill(new FulfillOptions { GameId = T.Env("TWITCH_GAME_ID"), GrantsInFlight = 10 }, journal, r =>
                {
                    lock (given) given.Add(r.Id);
                    return GrantOutcome.Granted;
                });
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var twice = given.Count - given.Distinct().Count();
        Console.WriteLine("shared: a=" + results[0].Fulfilled + " b=" + results[1].Fulfilled + " held="
            + (results[0].HeldElsewhere + results[1].HeldElsewhere) + " twice=" + twice + " given=" + given.Count);
        return 0;
    }

    static int Main(string[] args)
    {
        return args[0] == "crash" ? Crash() : args[0] == "shared" ? Shared() : 2;
    }
}
