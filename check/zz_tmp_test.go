package check
import ("testing";"bytes")
func TestTmpV(t *testing.T){
	for _,n:=range []string{"attack","retries"}{
	m,_:=FindMember(n)
	rep,err:=Cover(CoverOptions{Family: []Member{m}, NoQuiescence:true})
	if err!=nil{t.Fatal(err)}
	if v:=rep.Members[0].Result.Violation; v!=nil { var b bytes.Buffer; _=WriteTable(&b, mustSystem(t,m.Config), v); t.Log(b.String()) }
	}
}
