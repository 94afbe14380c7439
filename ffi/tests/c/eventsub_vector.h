/* The known EventSub vector the C and C++ tests share: the one core/tests/eventsub.rs checks
 * against Python's hmac. */
#ifndef TD_TEST_EVENTSUB_VECTOR_H
#define TD_TEST_EVENTSUB_VECTOR_H

#define SECRET "s3cre7-s3cre7-s3cre7"
#define MESSAGE_ID "e76c6bd4-55c9-4987-8304-da1588d8988b"
#define TIMESTAMP "2023-11-14T22:13:20.634234626Z"
#define NOW_MS 1700000000000ULL
static const char GRANT_BODY[] =
    "{\"subscription\":{\"id\":\"f1c2a387-161a-49f9-a165-0f21d7a4e1c4\",\"status\":\"enabled\",\"type\":\"drop."
    "entitlement.grant\",\"version\":\"1\",\"condition\":{\"organization_id\":\"9001\",\"category_id\":\"509658\"},"
    "\"transport\":{\"method\":\"webhook\",\"callback\":\"https://example.com/webhooks/callback\"},\"created_at\":"
    "\"2023-11-01T10:00:00.000Z\",\"cost\":0},\"events\":[{\"id\":\"bf7c8577-e3e3-4c8a-8b7b-2a9f1b3f0c1d\","
    "\"data\":{\"organization_id\":\"9001\",\"category_id\":\"509658\",\"category_name\":\"Fortnite\","
    "\"campaign_id\":\"943d8e4a-7d7c-4d9d-9f0b-4a8c1b2d3e4f\",\"user_id\":\"1234\",\"user_name\":\"Cool_User\","
    "\"user_login\":\"cool_user\",\"entitlement_id\":\"fb78259e-fb81-4d1b-8333-34a06ffc24c0\",\"benefit_id\":"
    "\"74c52265-e214-48a6-91b9-23b6014e8041\",\"created_at\":\"2023-11-14T22:13:19.000Z\"}}]}";
/* HMAC-SHA256(SECRET, MESSAGE_ID + TIMESTAMP + GRANT_BODY), computed with Python's hmac. */
#define GRANT_SIGNATURE "sha256=6e90a79fe02c234517a5b22bbdda1fff6ca15da9db45935288d4573177eebeda"

#endif
