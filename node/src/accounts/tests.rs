use super::*;

fn account() -> Account {
    Account {
        username: "admin320100".into(),
        password_hash: String::new(),
        role: Role::Admin,
        must_change_password: true,
        disabled: false,
        failed_logins: 0,
        locked_until_ms: None,
        created_at_ms: 0,
        last_login_ms: None,
    }
}

#[test]
fn password_policy() {
    let cases: [(&str, bool); 8] = [
        ("Short1!", false),
        ("alllowercaseletters", false),
        ("lowerUPPER123", true),
        ("lower-upper-123", true),
        ("ALLUPPER12345", false),
        ("Admin320100pass!", false),
        ("正确马电池订书钉Ab1", true),
        (&"Aa1!".repeat(40), false),
    ];
    for (password, acceptable) in cases {
        assert_eq!(
            check_password_policy("admin320100", password).is_ok(),
            acceptable,
            "{password}"
        );
    }
}

#[test]
fn generated_passwords_pass_the_policy_and_differ() {
    let first = generate_initial_password();
    for _ in 0..200 {
        let password = generate_initial_password();
        assert!(
            check_password_policy("someone", &password).is_ok(),
            "{password}"
        );
        assert!(!password.contains(['0', 'O', '1', 'l', 'I']));
    }
    assert_ne!(first, generate_initial_password());
}

#[test]
fn hashes_verify_only_the_right_password() {
    let hash = hash_password("Correct-Horse-9").unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(password_matches("Correct-Horse-9", &hash));
    assert!(!password_matches("correct-horse-9", &hash));
    assert!(!password_matches("Correct-Horse-9", "not a hash"));
}

#[test]
fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let now = Timestamp(1_000_000);
    let mut current = account();
    for attempt in 1..MAX_FAILED_LOGINS {
        let (next, outcome) = decide_login(current, false, now);
        assert_eq!(
            outcome,
            Err(AccountError::WrongCredentials),
            "attempt {attempt}"
        );
        current = next;
    }
    let (locked, outcome) = decide_login(current, false, now);
    assert_eq!(outcome, Err(AccountError::Locked { minutes: 15 }));
    // Even the right password is refused while locked...
    let (locked, outcome) = decide_login(locked, true, now.plus_seconds(60));
    assert!(matches!(outcome, Err(AccountError::Locked { minutes: 14 })));
    // ...and accepted after the lock ends.
    let (_, outcome) = decide_login(locked, true, now.plus_seconds(LOCKOUT_SECONDS + 1));
    assert_eq!(outcome, Ok(()));
}

#[test]
fn disabled_accounts_cannot_log_in() {
    let mut disabled = account();
    disabled.disabled = true;
    assert_eq!(
        decide_login(disabled, true, Timestamp(0)).1,
        Err(AccountError::Disabled)
    );
}

#[test]
fn sessions_expire_when_idle_or_old() {
    let session = Session::begin("x", Timestamp(0));
    assert!(!session.expired(Timestamp(0).plus_seconds(SESSION_IDLE_SECONDS - 1)));
    assert!(session.expired(Timestamp(0).plus_seconds(SESSION_IDLE_SECONDS + 1)));
    let mut busy = session.clone();
    busy.last_used_ms = Timestamp(0).plus_seconds(SESSION_MAX_SECONDS).0;
    assert!(busy.expired(Timestamp(0).plus_seconds(SESSION_MAX_SECONDS + 1)));
}
