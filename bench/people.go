package bench

import (
	"fmt"
	"math/rand/v2"

	"kavach/registration"
)

// Names common at north Indian counters, for realistic name keys and search.
var (
	firstM = []string{"Ramesh", "Suresh", "Mahesh", "Rajesh", "Dinesh", "Mukesh", "Rakesh", "Naresh", "Amit", "Sumit",
		"Rohit", "Mohit", "Vikas", "Vikram", "Sanjay", "Ajay", "Vijay", "Manoj", "Anil", "Sunil", "Pradeep", "Sandeep",
		"Kuldeep", "Arun", "Varun", "Tarun", "Deepak", "Ashok", "Alok", "Pankaj", "Neeraj", "Gaurav", "Saurabh",
		"Abhishek", "Rahul", "Rohan", "Aman", "Karan", "Arjun", "Harish", "Girish", "Satish", "Jagdish", "Yogesh",
		"Lokesh", "Umesh", "Ganesh", "Kamal", "Vimal", "Nirmal", "Irfan", "Imran", "Salman", "Arif", "Asif", "Zahid",
		"Shahid", "Mohd Irfan", "Mohd Salim", "Gurpreet", "Harpreet", "Manpreet", "Jaspal", "Balwinder", "Kishan",
		"Mohan", "Sohan", "Rajendra", "Surendra", "Narendra", "Devendra", "Mahendra", "Jitendra", "Dharmendra",
		"Om Prakash", "Ved Prakash", "Ram Kishan", "Shyam Lal", "Hari Ram", "Bhagwan Das", "Prem Chand", "Lal Chand"}
	firstF = []string{"Sunita", "Anita", "Savita", "Kavita", "Babita", "Geeta", "Seema", "Reena", "Meena", "Neeta",
		"Pooja", "Priya", "Neha", "Sneha", "Ritu", "Nidhi", "Shweta", "Swati", "Anjali", "Deepika", "Laxmi", "Lakshmi",
		"Saroj", "Usha", "Asha", "Nisha", "Manju", "Anju", "Sangeeta", "Sarita", "Rekha", "Sushma", "Suman", "Poonam",
		"Kiran", "Jyoti", "Aarti", "Bharti", "Shanti", "Kamla", "Vimla", "Nirmala", "Parveen", "Shabana", "Nazia",
		"Rukhsana", "Farzana", "Gurmeet", "Harjeet", "Simran", "Komal", "Payal", "Muskan", "Khushboo", "Rani", "Radha"}
	last = []string{"Kumar", "Singh", "Sharma", "Verma", "Gupta", "Yadav", "Jain", "Agarwal", "Mishra", "Pandey",
		"Tiwari", "Dubey", "Chauhan", "Rawat", "Negi", "Bisht", "Saini", "Malik", "Khan", "Ansari", "Qureshi", "Siddiqui",
		"Chaudhary", "Tomar", "Rathore", "Meena", "Prajapati", "Kushwaha", "Maurya", "Paswan", "Das", "Mandal", "Thakur",
		"Bhatt", "Joshi", "Kapoor", "Khanna", "Malhotra", "Arora", "Sethi", "Bansal", "Goel", "Mittal", "Garg", "Devi",
		"Kaur", "Gill", "Sandhu", "Dhillon", "Rana"}
	places = []struct{ city, district, state, pin string }{
		{"New Delhi", "South Delhi", "Delhi", "110029"}, {"Delhi", "North East Delhi", "Delhi", "110053"},
		{"Ghaziabad", "Ghaziabad", "Uttar Pradesh", "201001"}, {"Noida", "Gautam Buddha Nagar", "Uttar Pradesh", "201301"},
		{"Gurugram", "Gurugram", "Haryana", "122001"}, {"Faridabad", "Faridabad", "Haryana", "121001"},
		{"Meerut", "Meerut", "Uttar Pradesh", "250001"}, {"Patna", "Patna", "Bihar", "800001"},
		{"Darbhanga", "Darbhanga", "Bihar", "846004"}, {"Alwar", "Alwar", "Rajasthan", "301001"},
	}
	depts = []string{"MED", "MED", "MED", "SUR", "PED", "ENT", "EYE", "ORT", "OBG", "DER"}
)

// Patient returns a random, valid registration.
func Patient(r *rand.Rand) *registration.NewPatient {
	sex := "M"
	first := firstM[r.IntN(len(firstM))]
	if r.IntN(2) == 0 {
		sex = "F"
		first = firstF[r.IntN(len(firstF))]
	}
	surname := last[r.IntN(len(last))]
	age := r.IntN(90)
	months := 0
	if age == 0 {
		months = r.IntN(12)
	}
	pl := places[r.IntN(len(places))]
	rel := "father"
	if sex == "F" && age > 22 && r.IntN(3) > 0 {
		rel = "husband"
	}
	cats := []string{"general", "general", "general", "general", "bpl", "senior", "scheme"}
	cat := cats[r.IntN(len(cats))]
	if cat == "senior" && age < 60 {
		cat = "general"
	}
	return &registration.NewPatient{
		Name:             first + " " + surname,
		Sex:              sex,
		AgeYears:         &age,
		AgeMonths:        &months,
		Mobile:           fmt.Sprintf("%d%09d", 6+r.IntN(4), r.IntN(1_000_000_000)),
		Address:          fmt.Sprintf("H. No. %d, Gali %d, Ward %d", 1+r.IntN(999), 1+r.IntN(40), 1+r.IntN(60)),
		City:             pl.city,
		District:         pl.district,
		State:            pl.state,
		PIN:              pl.pin,
		GuardianRelation: rel,
		GuardianName:     firstM[r.IntN(len(firstM))] + " " + surname,
		Category:         cat,
	}
}

// Department returns a department code weighted as a real OPD is.
func Department(r *rand.Rand) string { return depts[r.IntN(len(depts))] }
