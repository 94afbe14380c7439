// Per-id outcomes and errors through the C# layer, against the fake:
//   - one update with an id of ours, a malformed id, an unknown id and another organization's
//     id (and ours again): Success, InvalidId, NotFound, Unauthorized, each id once;
//   - listing another organization's game: DropsException with HTTP 403 and Twitch's message;
//   - a wrong secret: Unauthorized, and the secret in no message or ToString;
//   - bad input: DropsInvalidInputException naming the field (first, ids, game_id, helix_url,
//     client_id), ArgumentNullException naming the parameter, all before anything is sent.
// env: TWITCH_* and TD_TEST_OWN_ID, TD_TEST_FOREIGN_ID. Prints: outcomes: ok requests=N
using System;
using System.Linq;
using TwitchDrops;

static class Outcomes
{
    static int Main()
    {
        var own = T.Env("TD_TEST_OWN_ID");
        var foreign = T.Env("TD_TEST_FOREIGN_ID");
        const string unknown = "00000000-0000-4000-8000-000000000000";
        using (var client = new DropsClient(T.Config()))
        {
            var report = client.UpdateEntitlements(new[] { own, "not-an-id", unknown, foreign, own }, FulfillmentStatus.Fulfilled);
            var expected = new[] { UpdateStatus.Success, UpdateStatus.InvalidId, UpdateStatus.NotFound, UpdateStatus.Unauthorized };
            T.Check(report.Outcomes.Count == 4, "repeats once: " + report.Outcomes.Count);
            for (var i = 0; i < 4; i++)
            {
                T.Check(report.Outcomes[i].Status == expected[i], report.Outcomes[i] + " expected " + expected[i]);
            }
            T.Check(report.Outcomes.Select(o => o.Id).SequenceEqual(new[] { own, "not-an-id", unknown, foreign }), "ids in order");
            T.Check(!report.AllSucceeded, "not all succeeded");
            T.Check(report.StatusOf(foreign) == UpdateStatus.Unauthorized, "StatusOf(foreign)");
            T.Check(report.StatusOf("never-sent") == null, "StatusOf an id not sent");
            var back = client.Entitlements(new EntitlementQuery { Ids = { own } }).Single();
            T.Check(back.Status == FulfillmentStatus.Fulfilled && back.Id == own, "read back FULFILLED");

            // Twitch's error: status and message.
            var http = T.Throws<DropsException>(
                () => client.Entitlements(new EntitlementQuery { GameId = "999999" }).ToList(), "another organization's game");
            T.Check(http.Code == DropsErrorCode.Http, "code Http: " + http.Code);
            T.Check(http.HttpStatus == 403, "HTTP 403: " + http.HttpStatus);
            T.Check(http.TwitchMessage == "The organization does not own the game", "Twitch's message: " + http.TwitchMessage);
            T.Check(http.Message.Length > 0, "a message for people");

            // Bad input, refused before sending: typed, naming the field.
            var before = client.RequestsSent;
            var first = T.Throws<DropsInvalidInputException>(
                () => client.Entitlements(new EntitlementQuery { First = 0 }), "first 0");
            T.Check(first.Field == "first" && first.Code == DropsErrorCode.InvalidInput, "field first: " + first.Field);
            var negative = T.Throws<DropsInvalidInputException>(
                () => client.Entitlements(new EntitlementQuery { First = -1 }), "first -1");
            T.Check(negative.Field == "first", "field first (negative): " + negative.Field);
            var many = new EntitlementQuery();
            for (var i = 0; i < 101; i++) many.Ids.Add("id-" + i);
            T.Check(T.Throws<DropsInvalidInputException>(() => client.Entitlements(many), "101 ids").Field == "ids", "field ids");
            T.Check(T.Throws<DropsInvalidInputException>(
                () => client.Entitlements(new EntitlementQuery { GameId = " " }), "blank game").Field == "game_id", "field game_id");
            T.Check(T.Throws<DropsInvalidInputException>(
                () => client.UpdateEntitlements(new[] { own, "" }, FulfillmentStatus.Fulfilled), "empty id").Field == "ids", "field ids (update)");
            T.Check(T.Throws<ArgumentNullException>(
                () => client.UpdateEntitlements(new[] { own, null }, FulfillmentStatus.Fulfilled), "null id").ParamName == "ids[1]", "param ids[1]");
            T.Check(T.Throws<ArgumentNullException>(() => client.Entitlements(null), "null query").ParamName == "query", "param query");
            T.Check(client.RequestsSent == before, "nothing sent for bad input");

            var insecure = T.Config();
            insecure.HelixUrl = "http://example.com/helix";
            T.Check(T.Throws<DropsInvalidInputException>(() => new DropsClient(insecure), "insecure URL").Field == "helix_url", "field helix_url");
            T.Check(T.Throws<DropsInvalidInputException>(() => new DropsClient(new DropsClientConfig(" ") { ClientSecret = "x" }), "blank id").Field == "client_id", "field client_id");
        }

        // A wrong secret: Unauthorized, and the secret is in no message and no ToString.
        const string secret = "wrong-secret-s3cr3t-value";
        var config = T.Config();
        config.ClientSecret = secret;
        T.Check(!config.ToString().Contains(secret) && config.ToString().Contains("<redacted>"), "config ToString redacts: " + config);
        using (var client = new DropsClient(config))
        {
            var denied = T.Throws<DropsException>(() => client.UpdateEntitlements(new[] { own }, FulfillmentStatus.Fulfilled), "wrong secret");
            T.Check(denied.Code == DropsErrorCode.Unauthorized, "Unauthorized: " + denied.Code);
            T.Check(!denied.ToString().Contains(secret) && !denied.Message.Contains(secret), "no secret in the exception");
            T.Check(!client.ToString().Contains(secret), "no secret in the client's ToString");
        }
        Console.WriteLine("outcomes: ok");
        return 0;
    }
}
