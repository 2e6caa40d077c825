//! `Actor::personal_data_scope` (what a search index may match the asker's name and phone in) agrees
//! with `Actor::sees_personal_data_of` on every request the actor's scope admits.

use mashangban_domain::org::{AccountActor, Actor, Role, ScopeFacts, StaffActor};

fn actors() -> Vec<Actor> {
    let mut actors: Vec<Actor> = Role::ALL
        .iter()
        .filter(|r| r.is_staff())
        .flat_map(|&role| {
            [None, Some(7)].map(|town_id| {
                Actor::Staff(StaffActor {
                    user_id: Some(1),
                    name: "甲".into(),
                    role,
                    unit_id: 1,
                    units: vec![1, 2],
                    town_id,
                })
            })
        })
        .collect();
    actors.push(Actor::Account(AccountActor {
        user_id: 5,
        name: "企业".into(),
        role: Role::Enterprise,
        credit_code: Some("91350100M000100Y43".into()),
    }));
    actors.extend([Actor::System, Actor::PublicAsker, Actor::Anonymous]);
    actors
}

#[test]
fn personal_data_scope_agrees_with_sees_personal_data_of_within_scope() {
    let units: [Option<i64>; 4] = [None, Some(1), Some(2), Some(3)];
    let mut checked = 0;
    for actor in actors() {
        let (scope, personal) = (actor.scope(), actor.personal_data_scope());
        let lookup = actor.personal_lookup_scope();
        for lead in units {
            for co in [vec![], vec![2], vec![3], vec![1, 3]] {
                for town_id in [None, Some(7), Some(8)] {
                    for submitted_by in [None, Some(5)] {
                        let facts = ScopeFacts {
                            lead_unit_id: lead,
                            co_unit_ids: &co,
                            sub_unit_ids: Vec::new(),
                            town_id,
                            submitted_by,
                            credit_code: None,
                            liaison_user_ids: &[],
                        };
                        // A lookup by phone finds exactly what is in scope and shown unmasked.
                        let found = lookup.as_ref().is_some_and(|l| l.permits(&facts));
                        assert_eq!(
                            found,
                            scope.permits(&facts) && actor.sees_personal_data_of(lead, &co),
                            "lookup by phone: {actor:?} lead {lead:?} co {co:?} town {town_id:?}"
                        );
                        if scope.permits(&facts) {
                            checked += 1;
                            assert_eq!(
                                personal.permits(&facts),
                                actor.sees_personal_data_of(lead, &co),
                                "{actor:?} lead {lead:?} co {co:?} town {town_id:?}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
