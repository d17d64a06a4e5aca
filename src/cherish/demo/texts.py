"""Hand-written demo messages. Realistic enough to click through; never used for training."""

COMPLAINTS = [
    "I ordered a sofa six weeks ago (order {order}) and it still hasn't arrived. Every time I call "
    "I'm told it's 'on its way'. I took two days off work to wait for deliveries that never came.",
    "The washing machine you installed on Monday is leaking all over my kitchen floor. The engineer "
    "left after ten minutes and didn't test it. I need someone out here this week.",
    "I have been charged twice for the same order ({order}). I noticed it on my bank statement and "
    "now I'm overdrawn. Please refund the duplicate payment as soon as possible.",
    "Your driver left my parcel in the rain on the doorstep even though I asked for it to go to a "
    "neighbour. The box was soaked and the book inside is ruined.",
    "I was on hold for 47 minutes yesterday and then the line went dead. Nobody called back. I'm "
    "honestly thinking about cancelling my contract.",
    "The replacement part you sent is the wrong model. This is the second time. I gave you the serial "
    "number both times, so I don't understand how this keeps happening.",
    "My elderly mother was sold a broadband package she doesn't need and can't afford. She didn't "
    "understand what she was signing. I want the contract cancelled without the exit fee.",
    "The jacket I bought fell apart at the seams after two weeks of normal wear. For the price I paid "
    "I expected it to last years, not days.",
    "I returned the shoes a month ago and still haven't had my refund. Your website says 5-7 days. "
    "I have the tracking number showing you received them on the 3rd.",
    "The staff member at your High Street branch was rude to me when I asked a simple question about "
    "my account. I've been a customer for twelve years and I have never been spoken to like that.",
    "Your app has logged me out three times today and now it won't accept my password even after a "
    "reset. I can't pay my bill and I'm worried about a late fee.",
    "The heater you sold me started smoking after an hour and smelled of burning plastic. I unplugged "
    "it immediately. This is dangerous and I have small children at home.",
    "I was promised a call back on Thursday before noon. It's now Monday and nobody has called. This "
    "is the third promise that has been broken.",
    "The delivery slot was 8am to 6pm and nobody came. No text, no email, nothing. I wasted a whole "
    "day of annual leave.",
    "You increased my monthly price by 18% without telling me. I only found out from my bank "
    "statement. If this isn't reversed I'll take my business elsewhere.",
    "The food in my order was cold and two items were missing. When I tried to report it in the app "
    "there was no option for missing items.",
    "I have written three emails about my broken laptop screen and I get the same automated reply "
    "every time. Is there an actual person reading these?",
    "My flight was cancelled and the rebooking you offered is three days later. I have a funeral to "
    "attend. I need to get there on Friday.",
    "Your engineer damaged my hallway wall carrying in the fridge and refused to note it on the "
    "delivery form. I have photos.",
    "The meter reading on my bill is clearly wrong: it's higher than the meter says today. I've "
    "attached a photo of the meter.",
    "I'm a wheelchair user and the accessible entrance at your store was blocked by pallets again. "
    "I had to go home without my prescription.",
    "I cancelled my subscription in March and you've kept charging me every month since. I have the "
    "cancellation confirmation email.",
    "Why has nobody replied to my complaint from two weeks ago? I was told I would hear back within "
    "48 hours.",
    "Great, another parcel 'delivered' to an address that isn't mine. Thanks a lot. Third time this "
    "year.",
    "I'm sorry to bother you, but the bed frame arrived with two slats missing and we can't assemble "
    "it. Could someone send the missing parts?",
    "The paint I bought is a completely different colour from the sample card. I've now painted half "
    "a room and can't finish it.",
    "Your website took my payment but the booking never appeared in my account. I have the payment "
    "reference but customer service says there's no record.",
    "I've been without internet for five days. I work from home and this is costing me money. The "
    "status page still says there are no problems in my area.",
    "If this isn't resolved by Friday I'll be contacting the ombudsman and posting the whole story "
    "online.",
    "My husband passed away last month and I'm still receiving letters addressed to him demanding "
    "payment. Please stop, it's very distressing.",
]

INQUIRIES = [
    "Hello, can I change the delivery address for order {order}? I'm moving next week.",
    "Do you deliver to the Channel Islands, and if so how long does it take?",
    "What is your returns policy for items bought in the sale?",
    "Could you tell me when the blue version of the kettle will be back in stock?",
    "Is it possible to pay for my annual plan in monthly instalments?",
    "How do I add my partner as a second account holder?",
    "What time does your Oxford Road branch open on bank holidays?",
    "Can I book an installation for a Saturday morning?",
    "Do you offer a discount for students or pensioners?",
    "I need a copy of my last three invoices for my accountant. Where can I download them?",
    "Can I collect my order from the store instead of having it delivered?",
    "Does the warranty cover accidental damage or only faults?",
]

COMPLIMENTS = [
    "I just wanted to say a huge thank you to {staff} who sorted out my billing problem in one call. "
    "Patient, kind and it was fixed the same day.",
    "The delivery team were brilliant today: on time, careful with the stairs and they took the old "
    "mattress away. Really impressed.",
    "Thank you for the flowers after the mix-up with my order. It really made my week and I'll "
    "definitely order again.",
    "{staff} at the branch went out of her way to find the right part for my grandfather's old radio. "
    "Exceptional service.",
    "Fast delivery, beautiful packaging and the product is even better than the photos. Thank you!",
    "Your engineer explained everything clearly and even showed me how to bleed the radiators. "
    "Lovely man.",
]

SUGGESTIONS = [
    "It would be really helpful if the app sent a text when the driver is 30 minutes away.",
    "Could you add a 'leave with neighbour' option at checkout? It would save a lot of missed "
    "deliveries.",
    "Please offer paper-free invoices by email only; the paper ones go straight in the recycling.",
    "Maybe have a quiet hour in the store for people with autism or sensory issues, like the "
    "supermarkets do.",
    "Your opening hours on the website are different from the sign on the door. Worth updating one "
    "of them.",
]

FIRST_NAMES = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Sophia",
    "Lily",
    "Freya",
    "Emily",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Jack",
    "Aisha",
    "Priya",
    "Mohammed",
    "Yusuf",
    "Fatima",
    "Chen",
    "Wei",
    "Sofia",
    "Mateo",
    "Lucas",
    "Margaret",
    "Brian",
    "Patricia",
    "Derek",
    "Sandra",
    "Kwame",
    "Ngozi",
    "Siobhan",
    "Declan",
    "Ewan",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Khan",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Okafor",
    "Mensah",
    "O'Brien",
    "Murphy",
    "Nowak",
    "Kowalski",
    "Rossi",
    "Garcia",
    "Singh",
    "Ali",
]

AGENT_REPLIES = [
    "Hello {name}, thank you for telling us, and I'm sorry this happened. I've looked into it and "
    "I'm arranging {fix}. I'll call you on {day} to make sure it's sorted. {owner}",
    "Hi {name}, I'm {owner} and I'll be looking after this for you from start to finish. Could you "
    "tell me a little more about what happened, and what you would consider a fair outcome?",
    "Dear {name}, I've spoken to our delivery team and {fix}. Thank you for your patience, and "
    "please reply to this email directly if anything else goes wrong. {owner}",
]
FIXES = [
    "a full refund, which you'll see within three working days",
    "a replacement to be delivered on Thursday morning",
    "an engineer visit for tomorrow between 8 and 12",
    "the duplicate charge to be reversed today",
    "a credit of £25 on your account as an apology",
]
